"""Pictures made for looking at runs: compare pairs on one canvas, and tiles for runs with no result.

A compare slider overlays two images in one box. Drawn as they come, images of
different pixel sizes land at different scales and offsets, and a tall one is
cropped by the box. So both are letterboxed here onto one canvas: the same
pixel size, each scaled uniformly to fit whole and centred. Two images of the
same shape (an input and its result at another resolution) then cover exactly
the same area, whatever their pixel sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont, ImageOps

from components.media.decoding import open_bounded
from components.media.images import has_alpha

# The canvas's longer side at most: the slider is a few hundred pixels wide, and a 12 MP photo should not go out.
COMPARE_MAX_SIDE = 1024
# Around an image that does not fill the canvas: a dark neutral, like a lightbox, that no photo is mistaken for.
LETTERBOX_RGB = (28, 28, 32)
TILE_SIZE = (256, 256)
TILE_BACKGROUND = (226, 228, 232)


def open_for_display(path: str | Path, bound: int = COMPARE_MAX_SIDE) -> Image.Image:
    """The image as a viewer shows it (EXIF rotation applied), decoded no larger than needed."""
    # A JPEG is decoded at 1/2, 1/4 or 1/8 scale directly: far less memory for a 12 MP photo.
    with open_bounded(path, Path(path).name, longest=bound) as opened:
        image = ImageOps.exif_transpose(opened)
        image.load()
    return image


def common_canvas(sizes: Sequence[tuple[int, int]], max_side: int = COMPARE_MAX_SIDE) -> tuple[int, int]:
    """One canvas every size fits on whole: the union of their shapes, as large as the largest, bounded."""
    if not sizes or any(w <= 0 or h <= 0 for w, h in sizes):
        raise ValueError("sizes must be positive")
    # Each shape scaled so its longer side is 1; the canvas's shape holds all of them.
    shape_w = max(w / max(w, h) for w, h in sizes)
    shape_h = max(h / max(w, h) for w, h in sizes)
    longest = min(max_side, max(max(w, h) for w, h in sizes))
    scale = longest / max(shape_w, shape_h)
    return max(1, round(shape_w * scale)), max(1, round(shape_h * scale))


def placement(size: tuple[int, int], canvas: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where an image of `size` sits on `canvas` once letterboxed: (left, top, right, bottom)."""
    scale = min(canvas[0] / size[0], canvas[1] / size[1])
    width, height = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
    left, top = (canvas[0] - width) // 2, (canvas[1] - height) // 2
    return left, top, left + width, top + height


def letterbox(image: Image.Image, canvas: tuple[int, int], *, transparent: bool = False) -> Image.Image:
    """`image` scaled uniformly to fit `canvas` whole, centred; the rest letterboxed."""
    mode = "RGBA" if transparent else "RGB"
    fill = (0, 0, 0, 0) if transparent else LETTERBOX_RGB
    left, top, right, bottom = placement(image.size, canvas)
    scaled = image.convert(mode)
    if scaled.size != (right - left, bottom - top):
        scaled = scaled.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    out = Image.new(mode, canvas, fill)
    out.paste(scaled, (left, top))
    return out


def compare_pair(first: str | Path, second: str | Path,
                 max_side: int = COMPARE_MAX_SIDE) -> tuple[Image.Image, Image.Image]:
    """Both images on one common canvas (same size, each whole and centred), ready for a slider."""
    images = [open_for_display(first, max_side), open_for_display(second, max_side)]
    canvas = common_canvas([image.size for image in images], max_side)
    # A transparent result keeps its transparency; then both are RGBA so the slider shows like with like.
    transparent = any(has_alpha(image) for image in images)
    left, right = (letterbox(image, canvas, transparent=transparent) for image in images)
    return left, right


def save_pair(first: str | Path, second: str | Path, targets: tuple[Path, Path],
              max_side: int = COMPARE_MAX_SIDE) -> tuple[Path, Path]:
    """`compare_pair` written as lossless PNGs (a compare must not add artefacts of its own)."""
    for image, target in zip(compare_pair(first, second, max_side), targets):
        image.save(target, format="PNG", compress_level=3)
    return targets


def status_tile(source: str | Path | None, text: str, colour: str, size: tuple[int, int] = TILE_SIZE) -> Image.Image:
    """A gallery tile for a run without a result: its input dimmed (or a plain tile), with a coloured band.

    `text` and `colour` are the run's status as the UI shows it.
    """
    tile: Image.Image | None = None
    if source is not None:
        try:
            tile = open_for_display(source, max(size)).convert("RGB")
            tile.thumbnail(size)
            # Dimmed, so the input is never taken for a result.
            tile = Image.blend(tile, Image.new("RGB", tile.size, TILE_BACKGROUND), 0.55)
        except (OSError, ValueError):
            tile = None
    if tile is None:
        tile = Image.new("RGB", size, TILE_BACKGROUND)
    draw = ImageDraw.Draw(tile)
    band = max(18, tile.height // 5)
    draw.rectangle((0, tile.height - band, tile.width, tile.height), fill=colour)
    font = ImageFont.load_default(size=max(10, int(band * 0.6)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (tile.width - (right - left)) // 2 - left
    y = tile.height - band + (band - (bottom - top)) // 2 - top
    draw.text((x, y), text, fill=(255, 255, 255), font=font)
    return tile
