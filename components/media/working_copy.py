"""The light copy of a photo that the editor paints on; the original stays on the server.

A 12-megapixel phone photo is ~3 MB as a JPEG but ~18 MB as the PNG a browser
canvas exports, and the ImageEditor exports its background on every read. So
the editor never holds the photo: it gets a copy whose long side is
WORKING_SIDE (small photos are scaled up, so a brush size means the same share
of any image), the painted layer comes back at that size, and the mask is
scaled to the original's pixel size only when a run is prepared.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps

from components.media.decoding import displayed_size, open_bounded

WORKING_SIDE = 640
# The default brush: a share of the working copy's long side, so of any photo.
BRUSH_FRACTION = 0.03
BRUSH_SIZE = round(WORKING_SIDE * BRUSH_FRACTION)
WORKING_QUALITY = 85


@dataclass(frozen=True)
class WorkingCopy:
    path: Path                      # what the editor shows and paints on
    size: tuple[int, int]           # its pixel size
    original_size: tuple[int, int]  # the photo as a viewer shows it (EXIF orientation applied)


def working_size(original: tuple[int, int]) -> tuple[int, int]:
    width, height = original
    scale = WORKING_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_working_copy(source: str | Path, target: Path, name: str = "image 1") -> WorkingCopy:
    """Write the working copy of the photo at `source` to `target` (a .jpg or .png path).

    The header is checked before anything is decoded; JPEGs are decoded at a reduced
    scale (Pillow's draft mode), so a 12 MP photo costs a fraction of its full decode.
    """
    with open_bounded(source, name, longest=WORKING_SIDE) as opened:
        shown = displayed_size(opened)
        size = working_size(shown)
        image = ImageOps.exif_transpose(opened)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB").resize(size, Image.Resampling.LANCZOS)
    target = target.with_suffix(".png" if has_alpha else ".jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, **({"format": "PNG"} if has_alpha else {"format": "JPEG", "quality": WORKING_QUALITY}))
    return WorkingCopy(target, size, shown)


@lru_cache(maxsize=256)
def shown_size(source: str) -> tuple[int, int]:
    """The photo's size as a viewer shows it, read once per file (an upload's path names its content).

    The mask tools and the feather preview work on the working copy but speak in the photo's pixels.
    """
    with open_bounded(source, "the photo", longest=WORKING_SIDE) as opened:
        return displayed_size(opened)


def to_working(pixels: float, original: tuple[int, int], working: tuple[int, int]) -> float:
    """A length in the photo's pixels, in the working copy's."""
    return pixels * max(working) / max(original)
