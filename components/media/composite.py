"""Keeping the original outside the mask: the model's result laid over the photo through the mask.

The model takes a mask as guidance and often changes pixels outside it. So,
when asked, the app lays the result over the photo itself: the result is
scaled to the photo's pixel size (LANCZOS) and pasted through a matte made
from the mask (255 where the mask is fully transparent, "edit here"; 0
elsewhere), its edge softened by a Gaussian blur of `feather` pixels of the
photo. Where the matte is 0 the photo's pixels are untouched, bit for bit: a
paste through a 0 matte leaves its target as it was, and the composite is a
PNG. With feather 0 that is every pixel outside the mask; a feather also
blends that many pixels on the outer side of the edge.

Memory, for a 12 MP photo (4032x3024): the photo (36 MB RGB) and the matte
(12 MB, and 12 MB more while it is blurred) are held whole; the result is
scaled a band of rows at a time (box-resampling reads the rows around each
band, so bands join without a seam) and bands the matte leaves out are not
scaled at all. `python -m bench.composite` measures the peak.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageOps

from components.media.decoding import Source, displayed_size, open_bounded

# The largest feather, in pixels of the photo: a soft edge of up to ~3% of a 12 MP photo's width.
# Beyond it the blend reaches so far outside the painted area that "keep the original" means little.
MAX_FEATHER = 128
# How far the result's aspect ratio may be from the photo's before the composite is refused rather than
# stretched. 1% covers a size rounded to a model's 16-pixel grid (at most 8 px in ~1000) and a phone's
# near-4:3 sensors (4080x3072 against 2048x1536); a larger stretch would shift what the model drew
# visibly against the photo at the mask's edge.
STRETCH_TOLERANCE = 0.01
# Rows of the photo scaled and pasted at a time: ~3 MB of a 4032 px wide result per band.
BAND_ROWS = 256
# Lossless either way. On a 12 MP photo, PNG's default (6) takes 7.2 s for 12.9 MB; 3 takes 1.3 s for 14.2 MB.
PNG_COMPRESS_LEVEL = 3


class NotComposited(Exception):
    """Why the original could not be kept outside the mask; the message is for the person who asked."""


@dataclass(frozen=True)
class KeepOutside:
    """A request to keep the original outside the mask, with a feather in pixels of the photo."""

    feather: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.feather <= MAX_FEATHER:
            raise ValueError(f"feather must be 0 to {MAX_FEATHER} pixels")


@dataclass(frozen=True)
class Composite:
    """The photo with the result inside the mask: PNG bytes at the photo's pixel size."""

    data: bytes
    width: int
    height: int


def same_aspect(a: tuple[int, int], b: tuple[int, int], tolerance: float) -> bool:
    """Whether two (width, height) sizes have the same shape, their aspect ratios within `tolerance` (a share)."""
    return abs((a[0] / a[1]) / (b[0] / b[1]) - 1) <= tolerance


def same_shape(photo: tuple[int, int], result: tuple[int, int]) -> bool:
    """Whether a result of this size can be laid over the photo without a visible stretch."""
    return same_aspect(result, photo, STRETCH_TOLERANCE)


def aspect_problem(photo: tuple[int, int], result: tuple[int, int]) -> str | None:
    """Why a result of this size cannot be laid over the photo without stretching it; None when it can."""
    if same_shape(photo, result):
        return None
    return (f"The result ({result[0]}x{result[1]}) is not the shape of the photo ({photo[0]}x{photo[1]}): laying it "
            f"over the photo would stretch it, so only the model's own output is kept. Choose a size of the photo's "
            f"shape (gpt-image-2 takes a custom width and height) to keep the original outside the mask.")


def _alpha(mask: Image.Image) -> Image.Image:
    # No RGBA copy of a mask that is RGBA already: at 12 MP that copy alone is 48 MB.
    return mask.getchannel("A") if mask.mode in ("RGBA", "LA") else mask.convert("RGBA").getchannel("A")


def _opens(alpha: Image.Image) -> Image.Image:
    return alpha.point(lambda a: 255 if a == 0 else 0)


def edit_area(mask: Image.Image) -> Image.Image:
    """An L image, 255 where the mask is fully transparent (where the model may edit), 0 elsewhere."""
    return _opens(_alpha(mask))


def matte(area: Image.Image, feather: int) -> Image.Image:
    """How much of the result each pixel takes: the edit area, its edge blurred by `feather` pixels."""
    return area.filter(ImageFilter.GaussianBlur(feather)) if feather else area


def feather_preview(mask: Image.Image, radius: float) -> Image.Image:
    """`mask` with the composite's soft edge: its alpha blurred by `radius` of its own pixels (for the eye)."""
    soft = ImageChops.invert(edit_area(mask).filter(ImageFilter.GaussianBlur(radius)))
    shown = Image.new("RGBA", mask.size, (0, 0, 0, 255))
    shown.putalpha(soft)
    return shown


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """`new`, with `old`'s pixels let go at once (a 12 MP photo is 36 MB; two copies need not coexist longer)."""
    old.close()
    return new


def _upright(opened: Image.Image) -> Image.Image:
    """The photo decoded as a viewer shows it; the opened file itself, pasted into in place, when it needs no turn."""
    if opened.getexif().get(0x0112, 1) == 1:
        opened.load()
        return opened
    return _replace(opened, ImageOps.exif_transpose(opened))


def paste_through(photo: Image.Image, result: Image.Image, weights: Image.Image) -> None:
    """Paste `result`, scaled to the photo's size, into `photo` through `weights`, band by band, in place."""
    width, height = photo.size
    scale = result.height / height
    for top in range(0, height, BAND_ROWS):
        bottom = min(height, top + BAND_ROWS)
        band = weights.crop((0, top, width, bottom))
        if band.getextrema()[1] == 0:
            continue  # nothing of the result here: the photo's rows stay as they are
        scaled = result.resize((width, bottom - top), Image.Resampling.LANCZOS,
                               box=(0, top * scale, result.width, bottom * scale))
        photo.paste(scaled, (0, top), band)


def keep_outside_mask(photo: Source, result: Source, mask: Source, feather: int = 0) -> Composite:
    """The photo with the result inside the mask; NotComposited saying why when it cannot be made.

    Decoded one at a time, each inside its own share of the decode pool: the result, the mask
    (its matte is made before the photo is decoded, so the two never peak together), then the
    photo, which the result is pasted into. The mask is at the photo's size, as a run keeps it;
    a mask of another size is scaled to it. Raises InputError for a file that cannot be read.
    """
    keep = KeepOutside(feather)
    with open_bounded(result, "the result") as opened:
        result_image = opened.convert("RGBA" if _has_alpha(opened) else "RGB")
    with open_bounded(mask, "the mask") as opened:
        alpha = _alpha(opened)
        opened.close()  # a 12 MP mask is 48 MB as RGBA: gone before the area is made
    area = _opens(alpha)
    del alpha
    if area.getextrema()[1] == 0:
        raise NotComposited("The mask marks nothing to edit, so the model's whole output is the result.")
    weights = matte(area, keep.feather)
    del area
    with open_bounded(photo, "the photo") as opened:
        if problem := aspect_problem(displayed_size(opened), result_image.size):
            raise NotComposited(problem)
        image = _upright(opened)
        mode = "RGBA" if _has_alpha(image) or result_image.mode == "RGBA" else "RGB"
        if image.mode != mode:
            image = _replace(image, image.convert(mode))
        if result_image.mode != mode:
            result_image = result_image.convert(mode)
        if weights.size != image.size:
            # Blurred weights scale smoothly; hard ones stay hard, so "keep" stays exactly 0.
            weights = weights.resize(image.size, Image.Resampling.BILINEAR if keep.feather else
                                     Image.Resampling.NEAREST)
        paste_through(image, result_image, weights)
        del weights, result_image
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        return Composite(buffer.getvalue(), image.width, image.height)
