"""The wire contract shared by the client and the emulator: each parameter's
name, type, default, allowed values and help text, the job states, and the
form of an inline image.

Everything else derives from it: the request payload and its validation (the
client), the 400 answers (the emulator), the widgets (the UI) and the code
snippets. The parameter texts come from Segmind's model page; the limits that
page leaves out (16 images, 32,000 prompt characters, the mask rules, jpeg
having no alpha) come from OpenAI's documentation of the model.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

MODEL_SLUG = "gpt-image-1-edit"

MAX_IMAGES = 16
MAX_PROMPT_CHARS = 32_000
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_MASK_BYTES = 4 * 1024 * 1024
# What the model accepts as input images; the keys are Pillow format names.
INPUT_IMAGE_TYPES: Mapping[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

# Output formats with an alpha channel, and those whose size output_compression sets.
ALPHA_FORMATS = frozenset({"png", "webp"})
COMPRESSED_FORMATS = frozenset({"jpeg", "webp"})
OUTPUT_MEDIA_TYPES: Mapping[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
TRANSPARENT = "transparent"

# OpenAI's price per output image in USD (1024x1024, then 1536x1024 / 1024x1536),
# before input tokens. A quality without a price (`auto`) is estimated as medium.
PRICE_PER_IMAGE: Mapping[str, tuple[float, float]] = {
    "low": (0.011, 0.016), "medium": (0.042, 0.063), "high": (0.167, 0.25),
}
ESTIMATED_QUALITY = "medium"


class JobState(enum.Enum):
    """The states a v2 job reports in its `status` field."""

    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)

    @classmethod
    def parse(cls, value: Any) -> JobState | None:
        try:
            return cls(value)
        except ValueError:
            return None


class ParamType(enum.Enum):
    STRING = "string"
    INTEGER = "integer"
    URL = "string (uri)"
    URL_LIST = "string[]"


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    label: str
    help: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    max_items: int | None = None

    @property
    def is_option(self) -> bool:
        """An option is a parameter with a default that a widget picks from a set or range."""
        return not self.required and self.type in (ParamType.STRING, ParamType.INTEGER)


PARAMS: tuple[Param, ...] = (
    Param(
        "prompt", ParamType.STRING, "Prompt",
        "Text prompt used to generate the image.",
        required=True, default="", max_length=MAX_PROMPT_CHARS,
    ),
    Param(
        "image_urls", ParamType.URL_LIST, "Images",
        "A list of images. The first is the one edited (and the one the mask applies to); "
        "the others are references. PNG, WebP or JPEG, each under 50 MB.",
        required=True, max_items=MAX_IMAGES,
    ),
    Param(
        "mask", ParamType.URL, "Mask",
        "A PNG with an alpha channel, the size of the first image, under 4 MB: fully "
        "transparent pixels mark where to edit. The model treats it as guidance, not an exact boundary.",
    ),
    Param(
        "size", ParamType.STRING, "Size",
        "Select image resolution. Square is the fastest to generate.",
        default="auto", choices=("1024x1024", "1536x1024", "1024x1536", "auto"),
    ),
    Param(
        "quality", ParamType.STRING, "Quality",
        "Controls the visual quality of the output image.",
        default="auto", choices=("low", "medium", "high", "auto"),
    ),
    Param(
        "background", ParamType.STRING, "Background",
        "Select whether the image background should be transparent or opaque.",
        default="opaque", choices=(TRANSPARENT, "opaque"),
    ),
    Param(
        "output_compression", ParamType.INTEGER, "Output compression",
        "Select the compression level for the output image (1-100). Applies to jpeg and webp.",
        default=100, minimum=1, maximum=100,
    ),
    Param(
        "output_format", ParamType.STRING, "Output format",
        "Select the output format of the image.",
        default="png", choices=("png", "jpeg", "webp"),
    ),
    Param(
        "moderation", ParamType.STRING, "Moderation",
        "Controls the moderation strictness - use low for less restrictions.",
        default="auto", choices=("low", "auto"),
    ),
)

PARAMS_BY_NAME: Mapping[str, Param] = {p.name: p for p in PARAMS}
OPTIONS: tuple[Param, ...] = tuple(p for p in PARAMS if p.is_option)


@dataclass(frozen=True)
class ValidationIssue:
    """One thing wrong with a request, tied to the parameter a person must change."""

    param: str
    message: str

    def __str__(self) -> str:
        return f"{self.param}: {self.message}"


def option_defaults() -> dict[str, Any]:
    return {p.name: p.default for p in OPTIONS}


def compression_applies(output_format: str) -> bool:
    return isinstance(output_format, str) and output_format in COMPRESSED_FORMATS


def pixel_sizes() -> dict[str, tuple[int, int]]:
    """The fixed sizes among the `size` choices, as (width, height)."""
    sizes = {}
    for choice in PARAMS_BY_NAME["size"].choices:
        width, _, height = choice.partition("x")
        if width.isdigit() and height.isdigit():
            sizes[choice] = (int(width), int(height))
    return sizes


def estimated_cost(params: Mapping[str, Any]) -> float:
    """An estimate of one output image's price, from OpenAI's list prices."""
    square, oblong = PRICE_PER_IMAGE.get(str(params.get("quality")), PRICE_PER_IMAGE[ESTIMATED_QUALITY])
    size = pixel_sizes().get(str(params.get("size")))
    return oblong if size and size[0] != size[1] else square


def is_data_uri(value: Any) -> bool:
    """An inline base64 image: `data:image/<type>;base64,<data>` (the data itself is not checked)."""
    if not isinstance(value, str) or not value.startswith("data:"):
        return False
    head = value[5:].split(",", 1)[0]
    return head.startswith("image/") and head.endswith(";base64") and "," in value


def parse_data_uri(value: str) -> tuple[str, bytes]:
    """The media type and bytes of an inline base64 image; ValueError when it is not one."""
    if not is_data_uri(value):
        raise ValueError("not a base64 image data URI (data:image/...;base64,...)")
    head, _, payload = value[5:].partition(",")
    try:
        # Line breaks are tolerated: some encoders wrap base64 at 76 characters.
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data URI is not valid base64") from None
    return head.split(";", 1)[0], data


def is_image_reference(value: Any) -> bool:
    """An http(s) URL, or an inline base64 image data URI."""
    if not isinstance(value, str):
        return False
    if value.startswith("data:"):
        return is_data_uri(value)
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_param(param: Param, value: Any) -> str | None:
    """Return what is wrong with one present value, or None."""
    if param.type is ParamType.STRING:
        if not isinstance(value, str):
            return f"must be text, not {type(value).__name__}"
        if param.choices and value not in param.choices:
            return f"{value!r} is not one of {', '.join(param.choices)}"
        if param.max_length is not None and len(value) > param.max_length:
            return f"is {len(value):,} characters; the limit is {param.max_length:,}"
    elif param.type is ParamType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number from {param.minimum} to {param.maximum}"
        if not param.minimum <= value <= param.maximum:
            return f"{value} is outside {param.minimum}..{param.maximum}"
    elif param.type is ParamType.URL:
        if not is_image_reference(value):
            return "must be an http(s) URL or an image data URI"
    elif param.type is ParamType.URL_LIST:
        if not isinstance(value, (list, tuple)):
            return "must be a list of image URLs"
        if param.max_items is not None and len(value) > param.max_items:
            return f"has {len(value)} images; the model takes at most {param.max_items}"
        for position, item in enumerate(value, start=1):
            if not is_image_reference(item):
                return f"image {position} must be an http(s) URL or an image data URI"
    return None


def validate(payload: Mapping[str, Any]) -> list[ValidationIssue]:
    """Everything wrong with a request body, in parameter order; empty when it may be sent."""
    issues: list[ValidationIssue] = []
    for name in payload:
        if name not in PARAMS_BY_NAME:
            issues.append(ValidationIssue(name, "is not a parameter of this model"))
    for param in PARAMS:
        value = payload.get(param.name)
        if value is None:
            if param.required:
                issues.append(ValidationIssue(param.name, "is required"))
            continue
        problem = _check_param(param, value)
        if problem:
            issues.append(ValidationIssue(param.name, problem))
    if isinstance(payload.get("prompt"), str) and not payload["prompt"].strip():
        issues.append(ValidationIssue("prompt", "is empty: describe the edit you want"))
    if payload.get("image_urls") == [] or payload.get("image_urls") == ():
        issues.append(ValidationIssue("image_urls", "is empty: add at least one image to edit"))
    background = payload.get("background", PARAMS_BY_NAME["background"].default)
    output_format = payload.get("output_format", PARAMS_BY_NAME["output_format"].default)
    # Only a well-formed pair is judged here: a malformed value has its own issue above.
    if background == TRANSPARENT and isinstance(output_format, str) and output_format in PARAMS_BY_NAME[
            "output_format"].choices and output_format not in ALPHA_FORMATS:
        issues.append(ValidationIssue(
            "background", f"{output_format} has no alpha: choose {' or '.join(sorted(ALPHA_FORMATS))}, or opaque"))
    return issues


def build_payload(
    prompt: str,
    image_urls: Sequence[str],
    mask: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The request body: every option filled in with its default unless given.

    Does not validate; call `validate` on the result. The mask is left out when
    there is none, rather than sent as null.
    """
    payload: dict[str, Any] = {"prompt": prompt, "image_urls": list(image_urls)}
    if mask is not None:
        payload["mask"] = mask
    merged = option_defaults()
    merged.update(options)
    payload.update(merged)
    return payload
