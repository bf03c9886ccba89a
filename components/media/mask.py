"""From what a person painted in the ImageEditor to the mask the model expects.

The model wants a PNG the size of the first image, fully transparent where
it may edit and opaque elsewhere. The editor gives one RGBA layer per paint
layer, transparent where nothing was painted, at the size of the working copy
it shows (components/media/working_copy.py).
"""

from __future__ import annotations

from typing import Any, Mapping

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from components.media.decoding import open_bounded


def painted_area(value: Mapping[str, Any] | None) -> Image.Image | None:
    """An L image at the paint layers' own size, 255 wherever any layer has paint; None when nothing was painted.

    The layers are the size of what the editor shows (the working copy), whatever
    its background arrived as: the page may send the background as a placeholder.
    """
    if not value:
        return None
    union: Image.Image | None = None
    for layer in value.get("layers") or []:
        if layer is None or layer.mode != "RGBA":
            continue
        alpha = layer.getchannel("A")
        if union is not None and alpha.size != union.size:
            alpha = alpha.resize(union.size, Image.Resampling.NEAREST)
        painted = alpha.point(lambda a: 255 if a > 0 else 0)
        union = painted if union is None else ImageChops.lighter(union, painted)
    if union is None or union.getextrema()[1] == 0:
        return None
    return union


def mask_from_editor(value: Mapping[str, Any] | None) -> Image.Image | None:
    """The mask as painted: alpha 0 where painted, 255 elsewhere, at the paint layers' size.

    It is scaled to the photo's own pixel size when a run is prepared (components.media.images).
    """
    area = painted_area(value)
    if area is None:
        return None
    mask = Image.new("RGBA", area.size, (0, 0, 0, 255))
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


PAINT_COLOUR = (255, 0, 170, 255)  # the editor's brush colour, so a restored mask looks as if just painted


def paint_layer(area: Image.Image) -> Image.Image:
    """An edit area (L, 255 = edit here) as the editor's paint layer: paint where it is 255, clear elsewhere."""
    layer = Image.new("RGBA", area.size, (0, 0, 0, 0))
    layer.paste(PAINT_COLOUR, (0, 0), area)
    return layer


def paint_layer_from_mask(mask_path: str, size: tuple[int, int]) -> Image.Image:
    """A mask as the editor's paint layer at `size` (the working copy's): paint where the mask is transparent.

    Restoring a run puts its painted mask back as paint, so it can be changed with the brush again.
    """
    with open_bounded(mask_path, "the mask") as mask:
        alpha = mask.convert("RGBA").getchannel("A").resize(size, Image.Resampling.NEAREST)
    return paint_layer(alpha.point(lambda a: 255 if a == 0 else 0))


# Mask tools: each takes the painted area (L, 255 where painted) and gives the new one, same size.

def invert_area(area: Image.Image) -> Image.Image:
    """Paint where there was none, none where there was."""
    return ImageChops.invert(area.point(lambda v: 255 if v else 0))


def _dilate(area: Image.Image, steps: int) -> Image.Image:
    """`area` grown by `steps` pixels: 3x3 squares alternating with plus signs, so the growth is an octagon.

    An octagon is within 8% of a circle, where squares alone would turn every blob square.
    Pixels beyond the image's edge count as the edge's own (Pillow extends the edge for a rank filter).
    """
    for step in range(steps):
        if step % 2 == 0:
            area = area.filter(ImageFilter.MaxFilter(3))
        else:
            width, height = area.size
            framed = ImageOps.expand(area, 1, fill=0)
            for dx, dy in ((0, 1), (2, 1), (1, 0), (1, 2)):  # the four neighbours that share an edge
                area = ImageChops.lighter(area, framed.crop((dx, dy, dx + width, dy + height)))
    return area


def grow_area(area: Image.Image, steps: int) -> Image.Image:
    """The painted area widened by `steps` pixels all round."""
    return _dilate(area.point(lambda v: 255 if v else 0), max(0, steps))


def shrink_area(area: Image.Image, steps: int) -> Image.Image:
    """The painted area narrowed by `steps` pixels all round; paint at the image's edge stays at the edge."""
    # Shrinking the paint is growing the unpainted part; beyond the edge counts as painted for this.
    return invert_area(_dilate(invert_area(area), max(0, steps)))
