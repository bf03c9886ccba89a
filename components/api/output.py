"""Reading the model's `output`: a URL, a list of them, base64 or a data URI."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any, Callable

from PIL import Image, UnidentifiedImageError

from components.api import errors
from components.api.constants import MAX_OUTPUT_BYTES
from components.api.schema import is_data_uri, parse_data_uri


def output_reference(body: dict[str, Any]) -> str:
    """The first image the body points at, whichever shape the server used."""
    output = body.get("output")
    if isinstance(output, list):
        output = next((item for item in output if item), None)
    if isinstance(output, dict):
        output = output.get("url") or output.get("data")
    if not output and isinstance(body.get("images"), list) and body["images"]:
        first = body["images"][0]
        output = first.get("url") if isinstance(first, dict) else first
    if not isinstance(output, str) or not output:
        raise errors.OutputError("the result has no output image")
    return output


def decode_image(data: bytes) -> tuple[str, int, int]:
    """Check the bytes are an image; return its media type and size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return Image.MIME.get(image.format or "", "application/octet-stream"), image.width, image.height
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
