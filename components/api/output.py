"""Reading the model's output, in whichever shape the server used.

Seen on Segmind (its docs, the SDK, and other clients' probes): `output` as a URL,
a list of URLs, a JSON-encoded string of a list (`'["https://..."]'`), a dict with
a `url`; base64 (possibly wrapped at 76 characters) or a data URI; the image under
`image` or `image_url` instead of `output`; an `images` list of `{url, ...}`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any, Callable

from PIL import Image, UnidentifiedImageError

from components.api import errors
from components.api.constants import MAX_OUTPUT_BYTES
from components.api.schema import is_data_uri, parse_data_uri


# Where an image may sit in a body, and in a dict inside `output` or `images`, in the order tried.
BODY_KEYS = ("output", "image_url", "image", "images")
ITEM_KEYS = BODY_KEYS + ("url", "data", "base64", "b64_json")
MAX_NESTING = 4


def _first_reference(value: Any, depth: int = 0) -> str | None:
    if depth > MAX_NESTING:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{", '"'):
            # A JSON document inside a string: some models encode their output list this way.
            try:
                return _first_reference(json.loads(text), depth + 1)
            except ValueError:
                return None
        return text or None
    if isinstance(value, list):
        return next((found for item in value if (found := _first_reference(item, depth + 1))), None)
    if isinstance(value, dict):
        return next((found for key in ITEM_KEYS if (found := _first_reference(value.get(key), depth + 1))), None)
    return None


def output_reference(body: dict[str, Any]) -> str:
    """The first image the body points at, whichever shape the server used."""
    found = next((found for key in BODY_KEYS if (found := _first_reference(body.get(key)))), None)
    if not found:
        raise errors.OutputError("the result has no output image")
    return found


def decode_image(data: bytes) -> tuple[str, int, int]:
    """Check the bytes are a whole image; return its media type and size.

    Checked without paying for a full decode where the format allows: a PNG's every chunk against its
    CRC (a cut or damaged file fails), a JPEG decoded at 1/8 scale (its whole stream is still read, so a
    cut one fails). A 12 MP result decoded in full costs ~0.1 s of CPU per job, on a server that may be
    finishing many at once; anything else is decoded in full.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, width, height = Image.MIME.get(image.format or "", "application/octet-stream"), *image.size
            if image.format == "PNG":
                image.verify()
            else:
                if image.format == "JPEG":
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
            return kind, width, height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise errors.OutputError("the output is not a readable image") from None


def output_bytes(reference: str, download: Callable[[str], bytes]) -> tuple[bytes, str | None]:
    """The image bytes, and the URL they came from when there was one."""
    if reference.startswith(("http://", "https://")):
        return download(reference), reference
    if len(reference) > MAX_OUTPUT_BYTES * 4 // 3 + 1024:
        raise errors.OutputError("the output image is larger than this app accepts")
    try:
        if is_data_uri(reference):
            data = parse_data_uri(reference)[1]
        else:
            data = base64.b64decode("".join(reference.split()), validate=True)
    except (binascii.Error, ValueError):
        raise errors.OutputError("the output is neither a URL nor base64 image data") from None
    return data, None
