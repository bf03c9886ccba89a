"""Images made small enough to travel inside one file: a board's pictures, as data: URIs.

A board is one HTML file that opens anywhere without a server, so every picture
goes inside it, base64-encoded (a third larger than its bytes). Full results
(1-4 MB PNGs) and 12 MP photos would make a 24-run board hundreds of megabytes;
1600 px on the longer side is more than a laptop screen shows of one picture
at once, and a JPEG at quality 85 keeps a photo's detail at a tenth of a PNG's
bytes. A picture with real transparency is kept as lossy WebP with its alpha
(a JPEG would paint it black).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from components.media.compare import open_for_display
from components.media.images import has_alpha

# The longer side of an embedded picture, at most: enough for a large view of one run on a laptop screen.
EMBED_MAX_SIDE = 1600
EMBED_QUALITY = 85


@dataclass(frozen=True)
class Embedded:
    """A picture as it goes into a board: its encoded bytes, their type and its pixel size as shown."""

    mime: str
    data: bytes
    width: int
    height: int

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def is_transparent(image: Image.Image) -> bool:
    """Whether some pixel is not fully opaque (an alpha channel that is all 255 hides nothing)."""
    if not has_alpha(image):
        return False
    return image.convert("RGBA").getchannel("A").getextrema()[0] < 255


def embeddable(path: str | Path, max_side: int = EMBED_MAX_SIDE, quality: int = EMBED_QUALITY) -> Embedded:
    """The image as shown (EXIF rotation applied), no larger than `max_side`, as JPEG, or WebP when transparent.

    Decoded through the bounded pool (a JPEG straight at a reduced scale); raises InputError if unreadable.
    """
    image = open_for_display(path, max_side)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if is_transparent(image):
        image.convert("RGBA").save(buffer, format="WEBP", quality=quality, method=4)
        mime = "image/webp"
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
        mime = "image/jpeg"
    return Embedded(mime, buffer.getvalue(), image.width, image.height)
