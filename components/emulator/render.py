"""The emulator's output: an honest, visibly simulated stand-in for the model's work.

The first input is re-rendered at the requested size, format, compression and
background; the masked area turns to four shades of grey in a yellow outline; the other references are
shown as thumbnails; a banner says plainly that the image is simulated.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError

from components.api import schema

# The "edit" inside the mask: the photo in four shades of grey, outlined in the banner's yellow. Not a tint
# of the brush's own colour (#ff00aa), which read as the visitor's paint baked into the picture, and not a
# negative, which turns green leaves that same pink.
EDIT_OUTLINE = (255, 210, 0)
# What opening or decoding bytes that are not a readable image raises (a bomb's header among them).
UNREADABLE = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Rendered:
    data: bytes
    media_type: str
    width: int
    height: int


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def upright_size(image: Image.Image) -> tuple[int, int]:
    """An image's (width, height) as a viewer draws it, from its header: a quarter turn swaps the sides."""
    turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (image.height, image.width) if turned else image.size


def output_pixels(model: schema.Model, params: Mapping[str, Any], shown: tuple[int, int] | None) -> tuple[int, int]:
    """The size the picture is drawn at, for a first image shown at `shown`: `auto` by the schema's one rule."""
    return model.output_size(params.get("size"), shown) or model.auto_size(shown)


def thumb_side(size: tuple[int, int]) -> int:
    """A reference's thumbnail side on a picture of `size`."""
    return max(64, min(size) // 10)


def open_image(data: bytes | None, drawn_at: Callable[[Image.Image], tuple[int, int]] | None = None
               ) -> Image.Image | None:
    """The image in `data`, decoded; None when it can't be read. With `drawn_at` (the upright size it will be
    drawn at, from the opened image's header), no larger than that needs: a JPEG's decoder scales by 1/2 to 1/8
    on the way, so a 12 MP photo drawn at 1536x1024 costs a quarter of its pixels. Other formats decode whole."""
    if data is None:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        if drawn_at is not None:
            at_least = drawn_at(image)
            image.draft(image.mode, at_least[::-1] if upright_size(image) != image.size else at_least)
        image.load()
        return image
    except UNREADABLE:
        return None


def draw(images: Sequence[bytes | None], mask: bytes | None, params: Mapping[str, Any], model: schema.Model, *,
         text_only: bool = False) -> Rendered:
    """`render` from the bytes sent, each image decoded only as large as it is drawn: the first at the picture's
    size, the others as thumbnails."""
    first = open_image(images[0], lambda image: output_pixels(model, params, upright_size(image))) if images else None
    drawn = output_pixels(model, params, upright_size(first) if first is not None else None)
    thumbs = [open_image(data, lambda _: (thumb_side(drawn),) * 2) for data in images[1:]]
    return render(first, thumbs, open_image(mask), params, model, text_only=text_only)


def _mask_region(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An L image, 255 where the mask is fully transparent (the area to edit)."""
    alpha = (mask if mask.mode == "RGBA" else mask.convert("RGBA")).getchannel("A").resize(size, Image.Resampling.NEAREST)
    return alpha.point(lambda a: 255 if a == 0 else 0)


def _remove_background(image: Image.Image) -> Image.Image:
    """Make transparent whatever is close to the corner colour: a crude cut-out."""
    rgb = image.convert("RGB")
    corner = rgb.getpixel((0, 0))
    distance = ImageChops.difference(rgb, Image.new("RGB", rgb.size, corner)).convert("L")
    alpha = distance.point(lambda d: 0 if d < 40 else 255)
    out = image.convert("RGBA")
    out.putalpha(ImageChops.multiply(out.getchannel("A"), alpha))
    return out


def render(
    first: Image.Image | None,
    references: Sequence[Image.Image | None],
    mask: Image.Image | None,
    params: Mapping[str, Any],
    model: schema.Model,
    *,
    text_only: bool = False,
) -> Rendered:
    """`text_only`: no image was sent, so the model drew from the prompt alone (text-to-image)."""
    upright = ImageOps.exif_transpose(first) if first is not None else None
    # `auto` follows the first image as it is drawn (upright). A first image decoded smaller (decode_within)
    # keeps its shape, and so the size it is drawn at.
    width, height = output_pixels(model, params, upright.size if upright is not None else None)
    if upright is not None:
        canvas = ImageOps.fit(upright.convert("RGBA"), (width, height))
    else:
        canvas = Image.new("RGBA", (width, height), (90, 90, 100, 255))
    draw = ImageDraw.Draw(canvas)
    if first is None:
        words = ("no input image: text-to-image from the prompt alone" if text_only
                 else "input image not fetched (emulator has no internet)")
        draw.text((40, height // 2), words, fill=(255, 255, 255, 255), font=_font(32))

    if mask is not None:
        region = _mask_region(mask, (width, height))
        changed = ImageOps.posterize(ImageOps.grayscale(canvas).convert("RGB"), 2).convert("RGBA")
        changed.putalpha(canvas.getchannel("A"))
        canvas.paste(changed, (0, 0), region)
        edge = region.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(5))
        canvas.paste(Image.new("RGBA", (width, height), EDIT_OUTLINE + (255,)), (0, 0), edge)

    transparent = params.get("background") == schema.TRANSPARENT and model.transparency
    if transparent:
        canvas = _remove_background(canvas)
        draw = ImageDraw.Draw(canvas)

    thumb = thumb_side((width, height))
    for index, reference in enumerate(r for r in references if r is not None):
        x = width - (index + 1) * (thumb + 8) - 8
        if x < 0:
            break
        small = ImageOps.fit(ImageOps.exif_transpose(reference).convert("RGBA"), (thumb, thumb))
        y = 16
        canvas.paste(small, (x, y))
        draw.rectangle((x - 2, y - 2, x + thumb + 1, y + thumb + 1), outline=(255, 255, 255, 255), width=2)

    # The stamp goes along the bottom, where viewers' labels and toolbars don't cover it.
    title = _font(max(28, width // 30))
    small_font = _font(max(18, width // 60))
    prompt = textwrap.shorten(str(params.get("prompt", "")), width=110, placeholder="...")
    settings = "  ".join(f"{k}={params.get(k)}" for k in ("size", "quality", "background",
                                                          "output_format", "moderation"))
    title_px, small_px = getattr(title, "size", 12), getattr(small_font, "size", 12)
    banner_height = 28 + title_px + 2 * (small_px + 8)
    top = height - banner_height
    draw.rectangle((0, top, width, height), fill=(20, 20, 20, 220))
    draw.text((16, top + 12), f"SIMULATED - emulator output, not {model.label}", fill=EDIT_OUTLINE + (255,),
              font=title)
    line_y = top + 20 + title_px
    draw.text((16, line_y), f"prompt: {prompt}", fill=(255, 255, 255, 255), font=small_font)
    draw.text((16, line_y + small_px + 8), settings, fill=(200, 200, 200, 255), font=small_font)

    fmt = str(params.get("output_format"))
    if fmt not in schema.OUTPUT_MEDIA_TYPES:
        raise ValueError(f"unknown output format {fmt!r}")
    image = canvas if transparent and fmt in schema.ALPHA_FORMATS else canvas.convert("RGB")
    # Fast PNG compression: the emulator should cost little CPU next to the app it serves.
    options = {"quality": int(params["output_compression"])} if schema.compression_applies(fmt) \
        else {"compress_level": 1}
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.upper(), **options)
    return Rendered(buffer.getvalue(), schema.OUTPUT_MEDIA_TYPES[fmt], width, height)
