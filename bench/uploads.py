"""Bytes uploaded per run, first run and a repeat with the same inputs."""

from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

import segmind
from segmind.files import Files
from PIL import Image

from bench.common import table
from components.api.client import SegmindClient
from components.api.config import ClientSettings
from components.emulator import Emulator, Route
from components.media.images import EditRequest, prepare

KEY = "bench-key"


def photo_like(size: int = 900) -> bytes:
    """Noise compresses badly, like a photo: about 2 MB as PNG."""
    rng = random.Random(3)
    image = Image.frombytes("RGB", (size, size), bytes(rng.getrandbits(8) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def run() -> str:
    data = photo_like()
    mask = Image.new("RGBA", (900, 900), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (100, 100, 400, 400))
    with tempfile.TemporaryDirectory() as folder, Emulator(key=KEY) as emulator:
        image_path, mask_path = Path(folder) / "photo.png", Path(folder) / "mask.png"
        image_path.write_bytes(data)
        mask.save(mask_path)
        ours = SegmindClient(ClientSettings(api_base=emulator.url, storage_base=emulator.url), api_key=KEY)
        rows = []
        for attempt in ("first run", "repeat, same inputs"):
            before = emulator.bytes_received[Route.UPLOAD]
            ours.prepare_payload(prepare(EditRequest("x", [str(image_path)], mask=str(mask_path))))
            rows.append(["this app", attempt, emulator.bytes_received[Route.UPLOAD] - before])
        Files.STORAGE_BASE_URL = emulator.url  # the SDK's upload host is fixed; point it here
        sdk = segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")
        for attempt in ("first run", "repeat, same inputs"):
            before = emulator.bytes_received[Route.UPLOAD]
            sdk.files.upload([str(image_path), str(mask_path)])
            rows.append(["vendor SDK (files.upload)", attempt, emulator.bytes_received[Route.UPLOAD] - before])
    return table(["client", "run", "bytes uploaded (image ~{:.1f} MB + mask)".format(len(data) / 1e6)],
                 [[who, attempt, f"{count:,}"] for who, attempt, count in rows])


if __name__ == "__main__":
    print(run())
