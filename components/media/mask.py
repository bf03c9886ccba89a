"""From what a person painted in the ImageEditor to the mask the model expects.

The model wants a PNG the size of the first image, fully transparent where
it may edit and opaque elsewhere. The editor gives the uploaded background
and one RGBA layer per paint layer, transparent where nothing was painted.
"""

from __future__ import annotations

from typing import Any, Mapping

from PIL import Image, ImageChops, ImageDraw


def editor_background(value: Mapping[str, Any] | None) -> Image.Image | None:
    """The image being edited, or None when nothing was uploaded."""
    if not value:
        return None
    background = value.get("background")
    if background is None:
        return None
    if background.mode == "RGBA" and background.getchannel("A").getextrema() == (255, 255):
        # Opaque: drop the alpha so the upload is smaller and the model sees an ordinary photo.
        return background.convert("RGB")
    return background


def painted_area(value: Mapping[str, Any] | None, size: tuple[int, int]) -> Image.Image | None:
    """An L image, 255 wherever any layer has paint; None when nothing was painted."""
    if not value:
        return None
    union: Image.Image | None = None
    for layer in value.get("layers") or []:
        if layer is None or layer.mode != "RGBA":
            continue
        alpha = layer.getchannel("A")
        if alpha.size != size:
            alpha = alpha.resize(size, Image.Resampling.NEAREST)
        painted = alpha.point(lambda a: 255 if a > 0 else 0)
        union = painted if union is None else ImageChops.lighter(union, painted)
    if union is None or union.getextrema()[1] == 0:
        return None
    return union


def mask_from_editor(value: Mapping[str, Any] | None) -> Image.Image | None:
    """The mask to send: alpha 0 where painted, 255 elsewhere, at the first image's size."""
    background = editor_background(value)
    if background is None:
        return None
    area = painted_area(value, background.size)
    if area is None:
        return None
    mask = Image.new("RGBA", background.size, (0, 0, 0, 255))
    mask.putalpha(ImageChops.invert(area))
    return mask


def mask_preview(mask: Image.Image, cell: int = 16) -> Image.Image:
    """The mask made visible: a checkerboard where it is transparent (the edit area), black elsewhere."""
    width, height = mask.size
    board = Image.new("RGB", mask.size, (235, 235, 235))
    draw = ImageDraw.Draw(board)
    for y in range(0, height, cell):
        for x in range((y // cell) % 2 * cell, width, 2 * cell):
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=(190, 190, 190))
    black = Image.new("RGB", mask.size, (25, 25, 25))
    return Image.composite(black, board, mask.convert("RGBA").getchannel("A"))


def edit_fraction(mask: Image.Image) -> float:
    """The share of pixels the mask opens for editing."""
    histogram = mask.convert("RGBA").getchannel("A").histogram()
    return histogram[0] / max(1, mask.width * mask.height)
