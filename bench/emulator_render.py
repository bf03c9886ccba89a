"""The emulator's picture of one edit of a 12 MP photo: peak memory and time.

The emulator is the app's backend when no key is configured (a public Space's default),
and it draws each job in the app's own process, several at a time in a grid. Each
measurement runs in a fresh process that has only read the files; its peak resident
memory (VmHWM) is reset just before the drawing. "Whole" decodes every image in full
before drawing (what the emulator did before); "as drawn" is the emulator's `draw`,
which decodes a JPEG only as large as it is drawn.

    .venv/bin/python -m bench.emulator_render
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from bench.common import table
from bench.photo import write_phone_photo

CHILD = """
import json, sys, time
from pathlib import Path
from bench.common import proc_status_mb as status
from components.api import schema
from components.emulator.render import draw, open_image, render

photo, mask, slug, way = sys.argv[1:5]
model = schema.MODELS[slug]
data = Path(photo).read_bytes()
images = [data, data] if model.takes_references else [data]   # the photo, and itself as a reference
painted = Path(mask).read_bytes() if model.takes_mask else None
params = {"prompt": "a stormy sky", "size": "auto", "quality": "low", "output_format": "png"}
baseline = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
started = time.perf_counter()
if way == "whole":
    decoded = [open_image(d) for d in images]
    picture = render(decoded[0], decoded[1:], open_image(painted), params, model)
else:
    picture = draw(images, painted, params, model)
print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "seconds": time.perf_counter() - started,
                  "size": [picture.width, picture.height]}))
"""

MODELS = ("gpt-image-1-edit", "gpt-image-2")


def measure(photo: Path, mask: Path, slug: str, way: str) -> dict:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", CHILD, str(photo), str(mask), slug, way], cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="emulator-render-bench-"))
    photo = write_phone_photo(folder / "IMG_0001.jpg")
    mask = Image.new("RGBA", (4032, 3024), (0, 0, 0, 255))
    ImageDraw.Draw(mask).ellipse((1200, 900, 2800, 2100), fill=(0, 0, 0, 0))
    mask_path = folder / "mask.png"
    mask.save(mask_path)
    rows = []
    for slug in MODELS:
        for way in ("whole", "as drawn"):
            m = measure(photo, mask_path, slug, way)
            rows.append([slug, way, "x".join(map(str, m["size"])), f"{m['peak'] - m['baseline']:+.0f}",
                         f"{m['seconds']:.2f}"])
    return (table(["model", "decode", "picture", "peak over before MB", "seconds"], rows)
            + "\n\nOne 4032x3024 JPEG photo; gpt-image-1-edit also gets the photo again as a reference and a mask "
              "PNG at the photo's size (PNG decodes whole either way). Size `auto`, so a landscape picture.")


if __name__ == "__main__":
    print(run())
