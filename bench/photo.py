"""A stand-in for an ordinary 12-megapixel phone photo: 4032x3024, a ~3 MB JPEG with EXIF.

Smooth shapes plus fine texture and sensor-like noise, so that it compresses
like a photo (a flat test image would flatter every byte count).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = (4032, 3024)


def phone_photo(size: tuple[int, int] = SIZE, orientation: int = 1, seed: int = 7) -> bytes:
    width, height = size
    coarse = Image.merge("RGB", [Image.effect_noise((32, 24), 90 + 20 * i).point(lambda v: min(255, v + 40))
                                 for i in range(3)]).resize(size, Image.Resampling.BICUBIC)
    scene = ImageDraw.Draw(coarse)
    step = max(1, width // 12)
    for index in range(12):  # a few hard edges, as objects have
        x = (index * 331 * seed) % width
        y = (index * 197 * seed) % height
        scene.ellipse((x, y, x + step, y + step * 3 // 4), fill=((40 * index) % 256, 120, (255 - 20 * index) % 256))
    texture = Image.merge("RGB", [Image.effect_noise((width // 8, height // 8), 60) for _ in range(3)]).resize(
        size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 10).convert("RGB")
    photo = Image.blend(Image.blend(coarse, texture, 0.18), grain, 0.08).filter(ImageFilter.SMOOTH)
    exif = photo.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "Benchmark phone"
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=96, exif=exif)
    return buffer.getvalue()


def write_phone_photo(path: Path, **options) -> Path:
    path.write_bytes(phone_photo(**options))
    return path


if __name__ == "__main__":
    data = phone_photo()
    print(f"{len(data) / 1e6:.2f} MB")
