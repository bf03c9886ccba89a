"""The wire contract shared by the client and the emulator: the model registry (each
model's parameters with their names, types, defaults, allowed values, rules and help
text; what it can do; its prices and usual latency), the job states, and the form of
an inline image.

Everything else derives from it: the request payload and its validation (the
client), the 400 answers (the emulator), the widgets (the UI), the price
estimate, the poll schedule's first guess and the code snippets. Adding a model
Segmind starts to serve is one more `Model` in `MODELS`.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

MAX_PROMPT_CHARS = 32_000
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_MASK_BYTES = 4 * 1024 * 1024
# What the models accept as input images; the keys are Pillow format names.
INPUT_IMAGE_TYPES: Mapping[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

# Output formats with an alpha channel, and those whose size output_compression sets.
ALPHA_FORMATS = frozenset({"png", "webp"})
COMPRESSED_FORMATS = frozenset({"jpeg", "webp"})
OUTPUT_MEDIA_TYPES: Mapping[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
TRANSPARENT = "transparent"
AUTO_SIZE = "auto"
# The size a price is quoted for (and what `auto` gives when there is no image to follow).
PRICED_SIZE = (1024, 1024)


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
class SizeRule:
    """The custom WIDTHxHEIGHT sizes a model takes besides its listed ones."""

    multiple: int
    max_edge: int
    max_ratio: float
    min_pixels: int
    max_pixels: int

    def problem(self, width: int, height: int) -> str | None:
        """What is wrong with a custom size, in the terms a person can fix; None when it is allowed."""
        if width <= 0 or height <= 0:
            return "width and height must be positive"
        if width % self.multiple or height % self.multiple:
            return f"{width}x{height}: each edge must be a multiple of {self.multiple}"
        if max(width, height) > self.max_edge:
            return f"{width}x{height}: the longest edge may be at most {self.max_edge}"
        if max(width, height) / min(width, height) > self.max_ratio:
            return f"{width}x{height}: the aspect ratio must be between 1:{self.max_ratio:g} and {self.max_ratio:g}:1"
        if not self.min_pixels <= width * height <= self.max_pixels:
            return (f"{width}x{height} is {width * height:,} pixels; it must be "
                    f"{self.min_pixels:,} to {self.max_pixels:,}")
        return None

    def describe(self) -> str:
        return (f"each edge a multiple of {self.multiple}, aspect between 1:{self.max_ratio:g} and "
                f"{self.max_ratio:g}:1, longest edge ≤ {self.max_edge}, "
                f"{self.min_pixels:,}–{self.max_pixels:,} pixels")


def parse_size(value: Any) -> tuple[int, int] | None:
    """(width, height) of a WIDTHxHEIGHT size; None for "auto" or anything else."""
    if not isinstance(value, str):
        return None
    width, sep, height = value.partition("x")
    if sep and width.isdigit() and height.isdigit() and len(value) <= 11:
        return int(width), int(height)
    return None


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
    custom: SizeRule | None = None   # values besides `choices` that a rule allows

    @property
    def is_option(self) -> bool:
        """An option is a parameter with a default that a widget picks from a set or range."""
        return not self.required and self.type in (ParamType.STRING, ParamType.INTEGER)

    @property
    def is_image(self) -> bool:
        return self.type in (ParamType.URL, ParamType.URL_LIST) and self.name != "mask"


@dataclass(frozen=True)
class Pricing:
    """List prices per output image in USD, before input tokens.

    `per_quality` maps a quality to its (square, oblong) price at the model's listed sizes;
    with `by_area` the price is quoted for PRICED_SIZE and grows with the output's pixels
    (gpt-image-2 bills output tokens, which follow the area). A quality without a price
    (`auto`) is estimated as `estimated_quality`.
    """

    per_quality: Mapping[str, tuple[float, float]]
    by_area: bool = False
    estimated_quality: str = "medium"

    def estimate(self, quality: Any, pixels: tuple[int, int] | None) -> float:
        """The price of one output image of `pixels` (width, height); None, a size not known, is priced square."""
        square, oblong = self.per_quality.get(str(quality), self.per_quality[self.estimated_quality])
        if pixels is None:
            return square
        if self.by_area:
            return round(square * pixels[0] * pixels[1] / (PRICED_SIZE[0] * PRICED_SIZE[1]), 4)
        return oblong if pixels[0] != pixels[1] else square


@dataclass(frozen=True)
class ValidationIssue:
    """One thing wrong with a request, tied to the parameter a person must change."""

    param: str
    message: str

    def __str__(self) -> str:
        return f"{self.param}: {self.message}"


@dataclass(frozen=True)
class Model:
    """One model as Segmind serves it: its parameters, what it can do, what it costs and takes.

    Everything that shapes a request reads the chosen model's entry: payload, validation,
    widgets, snippets, the emulator's checks, the price estimate and the poll schedule.
    """

    slug: str
    label: str
    summary: str
    params: tuple[Param, ...]
    pricing: Pricing
    latency_prior: float                  # seconds, from the model's page: polls follow it until jobs teach better
    transparency: bool = True             # whether `background: transparent` gives an image with alpha
    retires_on: str | None = None         # ISO date OpenAI named for its shutdown
    successor: str | None = None
    sources: tuple[str, ...] = ()

    @cached_property
    def params_by_name(self) -> Mapping[str, Param]:
        return {p.name: p for p in self.params}

    def shut_down_by(self, day: date) -> bool:
        """Whether OpenAI's shutdown date for this model is `day` or earlier."""
        return self.retires_on is not None and date.fromisoformat(self.retires_on) <= day

    @cached_property
    def options(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.is_option)

    @cached_property
    def image_param(self) -> Param:
        return next(p for p in self.params if p.is_image)

    @property
    def max_images(self) -> int:
        param = self.image_param
        return param.max_items if param.type is ParamType.URL_LIST and param.max_items else 1

    @property
    def page_url(self) -> str:
        """Its page on Segmind: what it does, its parameters and its price."""
        return MODEL_PAGE.format(slug=self.slug)

    @property
    def takes_references(self) -> bool:
        return self.max_images > 1

    @property
    def takes_mask(self) -> bool:
        return "mask" in self.params_by_name

    @property
    def size_rule(self) -> SizeRule | None:
        size = self.params_by_name.get("size")
        return size.custom if size else None

    def option_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.options}

    def pixel_sizes(self) -> dict[str, tuple[int, int]]:
        """The listed fixed sizes, as (width, height)."""
        size = self.params_by_name.get("size")
        listed = {choice: parse_size(choice) for choice in (size.choices if size else ())}
        return {choice: pixels for choice, pixels in listed.items() if pixels}

    def auto_size(self, first: tuple[int, int] | None) -> tuple[int, int]:
        """The pixel size `size: auto` comes out at, for a first image of `first` (width, height, as a
        viewer shows it; None without one, or when its size is not known).

        This is our best knowledge of the models' behaviour, not a documented rule: OpenAI says only
        that `auto` lets the model pick, by the input. As far as we know, the gpt-image-1 models answer a
        landscape photo with 1536x1024, a portrait one with 1024x1536 and a square one (or none) with
        1024x1024: the listed size whose shape is nearest the first image's, the smallest of equals.
        gpt-image-2's `auto` may come back at a size off its list (Azure's documentation says it need
        not even keep the custom-size rule); nothing better is documented, so the same nearest-listed
        rule stands in for it. The price estimate and the emulator both follow this one rule.
        """
        listed = self.pixel_sizes().values()
        if not listed:
            return PRICED_SIZE
        ratio = first[0] / first[1] if first and first[0] > 0 and first[1] > 0 else 1.0
        return min(listed, key=lambda wh: (round(abs(wh[0] / wh[1] - ratio), 3), wh[0] * wh[1]))

    def auto_sizes(self) -> tuple[tuple[int, int], ...]:
        """Every size `auto` can resolve to, whatever the first image's shape: one a shape, in the listed order."""
        return tuple(dict.fromkeys(self.auto_size(pixels) for pixels in self.pixel_sizes().values()))

    def output_size(self, size: Any, first: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """The pixel size a request comes out at: the WIDTHxHEIGHT asked for, or what `auto` (the default
        when none is given) resolves to for a first image of `first`; None for a value that is neither."""
        if size is None and "size" in self.params_by_name:
            size = self.params_by_name["size"].default
        if size == AUTO_SIZE:
            return self.auto_size(first)
        return parse_size(size)

    def estimated_cost(self, params: Mapping[str, Any], first: tuple[int, int] | None = None) -> float:
        """The list price of one image for these parameters. `first`: the first image's (width, height) as a
        viewer shows it, which `auto` follows; without it, `auto` is priced square (what it gives no image)."""
        return self.pricing.estimate(params.get("quality"), self.output_size(params.get("size"), first))

    def image_count_problem(self, count: int) -> ValidationIssue | None:
        """Too many images for this model, in words that say what to remove."""
        if count <= self.max_images:
            return None
        if self.max_images == 1:
            return ValidationIssue(self.image_param.name, f"{self.label} edits one image and takes no references: "
                                                          f"remove the other {count - 1}")
        return ValidationIssue(self.image_param.name, f"has {count} images; {self.label} takes at most "
                                                      f"{self.max_images}")

    def validate(self, payload: Mapping[str, Any]) -> list[ValidationIssue]:
        """Everything wrong with a request body for this model, in parameter order; empty when it may be sent."""
        issues: list[ValidationIssue] = []
        known = self.params_by_name
        for name in payload:
            if name not in known:
                issues.append(ValidationIssue(name, f"is not a parameter of {self.slug}"))
        for param in self.params:
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
        image = self.image_param
        if image.required and payload.get(image.name) in ([], ()):
            issues.append(ValidationIssue(image.name, "is empty: add at least one image to edit"))
        background = payload.get("background", known["background"].default if "background" in known else None)
        output_format = payload.get("output_format", known["output_format"].default if "output_format" in known
                                    else None)
        # Only a well-formed pair is judged here: a malformed value has its own issue above.
        if background == TRANSPARENT and "output_format" in known and isinstance(output_format, str) \
                and output_format in known["output_format"].choices and output_format not in ALPHA_FORMATS:
            issues.append(ValidationIssue(
                "background", f"{output_format} has no alpha: choose {' or '.join(sorted(ALPHA_FORMATS))}, "
                              "or opaque"))
        return issues

    def build_payload(self, prompt: str, images: Sequence[str], mask: str | None = None,
                      **options: Any) -> dict[str, Any]:
        """The request body in this model's shape, every option filled in with its default unless given.

        Does not validate; call `validate` on the result. Images go where the model reads them
        (`image_urls`, or the single `image`); a mask goes only to a model that takes one; an
        image or mask this model can't take is left out, so the caller must check the count
        first (`image_count_problem`). Options this model lacks are kept, so `validate` names them.
        """
        image = self.image_param
        payload: dict[str, Any] = {"prompt": prompt}
        if image.type is ParamType.URL_LIST:
            payload[image.name] = list(images)
        elif images:
            payload[image.name] = images[0]
        if mask is not None and self.takes_mask:
            payload["mask"] = mask
        merged = self.option_defaults()
        merged.update(options)
        payload.update(merged)
        return payload

    def adapt_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Options chosen for another model, carried over to this one: kept where this model allows them,
        its default where it does not (a sweep across models compares like with like this way)."""
        adapted = {}
        for param in self.options:
            value = options.get(param.name, param.default)
            adapted[param.name] = value if _check_param(param, value) is None else param.default
        return adapted


def _check_param(param: Param, value: Any) -> str | None:
    """Return what is wrong with one present value, or None."""
    if param.type is ParamType.STRING:
        if not isinstance(value, str):
            return f"must be text, not {type(value).__name__}"
        if param.choices and value not in param.choices:
            if param.custom is not None:
                pixels = parse_size(value)
                if pixels is None:
                    return f"{value[:40]!r} is not one of {', '.join(param.choices)}, nor a WIDTHxHEIGHT size"
                return param.custom.problem(*pixels)
            return f"{value[:40]!r} is not one of {', '.join(param.choices)}"
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


# The registry -----------------------------------------------------------------------
#
# Parameter texts come from each model's page on Segmind (segmind.com/models/<slug>/api);
# limits those pages leave out (16 images, 32,000 prompt characters, the mask rules, jpeg
# having no alpha) from OpenAI's documentation; shutdown dates from OpenAI's deprecation
# notices. Where a fact is uncertain its entry says so, so a correction is one line here.

MODEL_PAGE = "https://www.segmind.com/models/{slug}/api"

PROMPT = Param(
    "prompt", ParamType.STRING, "Prompt", "Text prompt used to generate the image.",
    required=True, default="", max_length=MAX_PROMPT_CHARS,
)
IMAGE_URLS = Param(
    "image_urls", ParamType.URL_LIST, "Images",
    "A list of images. The first is the one edited (and the one the mask applies to); "
    "the others are references. PNG, WebP or JPEG, each under 50 MB.",
    required=True, max_items=16,
)
MASK = Param(
    "mask", ParamType.URL, "Mask",
    "A PNG with an alpha channel, the size of the first image, under 4 MB: fully "
    "transparent pixels mark where to edit. The model treats it as guidance, not an exact boundary.",
)
QUALITY = Param(
    "quality", ParamType.STRING, "Quality", "Controls the visual quality of the output image.",
    default="auto", choices=("low", "medium", "high", "auto"),
)
BACKGROUND = Param(
    "background", ParamType.STRING, "Background",
    "Select whether the image background should be transparent or opaque.",
    default="opaque", choices=(TRANSPARENT, "opaque"),
)
OUTPUT_FORMAT = Param(
    "output_format", ParamType.STRING, "Output format", "Select the output format of the image.",
    default="png", choices=("png", "jpeg", "webp"),
)
MODERATION = Param(
    "moderation", ParamType.STRING, "Moderation",
    "Controls the moderation strictness - use low for less restrictions.",
    default="auto", choices=("low", "auto"),
)

GPT_IMAGE_1_PARAMS: tuple[Param, ...] = (
    PROMPT, IMAGE_URLS, MASK,
    Param("size", ParamType.STRING, "Size", "Select image resolution. Square is the fastest to generate.",
          default=AUTO_SIZE, choices=("1024x1024", "1536x1024", "1024x1536", AUTO_SIZE)),
    QUALITY, BACKGROUND,
    Param("output_compression", ParamType.INTEGER, "Output compression",
          "Select the compression level for the output image (1-100). Applies to jpeg and webp.",
          default=100, minimum=1, maximum=100),
    OUTPUT_FORMAT, MODERATION,
)

# Segmind's page states the custom-size rule; its list of preset sizes is unclear, so the
# presets are those other gpt-image-2 front ends list (ComfyUI's node among them).
GPT_IMAGE_2_SIZES = SizeRule(multiple=16, max_edge=3840, max_ratio=3.0, min_pixels=655_360, max_pixels=8_294_400)
GPT_IMAGE_2_PARAMS: tuple[Param, ...] = (
    PROMPT,
    Param("image", ParamType.URL, "Image",
          "Optional input image for edit mode. Leave null for pure text-to-image generation. "
          "One image: gpt-image-2 on Segmind takes no references and no mask."),
    Param("size", ParamType.STRING, "Size",
          "Output resolution (WIDTHxHEIGHT). 'auto' lets the model pick. A size not listed may be given as "
          f"WIDTHxHEIGHT: {GPT_IMAGE_2_SIZES.describe()}.",
          default=AUTO_SIZE, choices=(AUTO_SIZE, "1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152",
                                      "1152x2048", "3840x2160", "2160x3840"),
          custom=GPT_IMAGE_2_SIZES),
    Param("quality", ParamType.STRING, "Quality",
          "Rendering fidelity; 'high' keeps typography crisp. Use 'medium' or 'low' for previews.",
          default="auto", choices=("low", "medium", "high", "auto")),
    Param("background", ParamType.STRING, "Background",
          "'opaque' for full scenes; 'transparent' for logos, stickers and cutouts. OpenAI documents no "
          "transparent output for gpt-image-2: expect an opaque image.",
          default="opaque", choices=(TRANSPARENT, "opaque")),
    Param("output_compression", ParamType.INTEGER, "Output compression",
          "Compression level 0-100; 100 preserves text crispness. Applies to jpeg and webp.",
          default=100, minimum=0, maximum=100),
    OUTPUT_FORMAT, MODERATION,
)

SUCCESSOR = "gpt-image-2"
MODELS: Mapping[str, Model] = {model.slug: model for model in (
    Model(
        "gpt-image-1-edit", "GPT Image 1", "the seed's model: up to 16 images and a mask",
        GPT_IMAGE_1_PARAMS,
        Pricing({"low": (0.011, 0.016), "medium": (0.042, 0.063), "high": (0.167, 0.25)}),
        latency_prior=56.8, retires_on="2026-10-23", successor=SUCCESSOR,
        sources=("segmind.com/models/gpt-image-1-edit/api", "OpenAI deprecations: gpt-image-1 shut down 2026-10-23"),
    ),
    Model(
        "gpt-image-1.5-edit", "GPT Image 1.5", "gpt-image-1's shape, newer weights",
        GPT_IMAGE_1_PARAMS,
        Pricing({"low": (0.009, 0.013), "medium": (0.034, 0.05), "high": (0.133, 0.2)}),
        latency_prior=57.0, retires_on="2026-12-01", successor=SUCCESSOR,
        sources=("segmind.com/models/gpt-image-1.5-edit/api", "OpenAI deprecations: shut down 2026-12-01"),
    ),
    Model(
        "gpt-image-1-edit-mini", "GPT Image 1 mini", "gpt-image-1's shape, faster and cheapest",
        GPT_IMAGE_1_PARAMS,
        Pricing({"low": (0.005, 0.006), "medium": (0.011, 0.015), "high": (0.036, 0.052)}),
        latency_prior=42.0, retires_on="2026-12-01", successor=SUCCESSOR,
        sources=("segmind.com/models/gpt-image-1-edit-mini/api", "OpenAI deprecations: shut down 2026-12-01"),
    ),
    Model(
        "gpt-image-2", "GPT Image 2", "one image, no mask, custom sizes up to 3840 px",
        GPT_IMAGE_2_PARAMS,
        # OpenAI bills gpt-image-2 by tokens; these are its 1024x1024 figures, scaled by area.
        Pricing({"low": (0.006, 0.006), "medium": (0.053, 0.053), "high": (0.211, 0.211)}, by_area=True),
        latency_prior=93.9, transparency=False,
        sources=("segmind.com/models/gpt-image-2/api",
                 "OpenAI pricing for gpt-image-2 (1024x1024: $0.006 low, $0.053 medium, $0.211 high)",
                 "OpenAI image guide: no transparent backgrounds for gpt-image-2",
                 "Azure OpenAI image docs: with size auto the output need not keep the custom-size rule"),
    ),
)}
# The seed's model: what records from before the registry ran on, and what a deployment built by hand
# (AppSettings()) uses. A deployment configured from its environment without SEGMIND_MODEL starts on
# `default_model_on(today)` instead, so a fresh Space does not open on a model OpenAI has shut down.
DEFAULT_MODEL = "gpt-image-1-edit"


class UnknownModelError(KeyError):
    """A slug that is not in the registry."""

    def __str__(self) -> str:
        return f"unknown model {self.args[0]!r}: choose one of {', '.join(MODELS)}"


def model(slug: str | None = None) -> Model:
    """The registry's entry for a slug (the default model without one)."""
    try:
        return MODELS[slug or DEFAULT_MODEL]
    except KeyError:
        raise UnknownModelError(slug) from None


def default_model_on(day: date, offered: Sequence[str] = ()) -> str:
    """The seed's model while it runs, else the first model down its successor chain not shut down by `day`
    (the last of the chain if every one is). Within `offered` when given: the picker should not gain a model
    the deployer left out, so if the chain's model is not offered, the first offered one still running (else
    the first offered)."""
    slug, seen = DEFAULT_MODEL, {DEFAULT_MODEL}
    while MODELS[slug].shut_down_by(day) and MODELS[slug].successor and MODELS[slug].successor not in seen:
        slug = MODELS[slug].successor
        seen.add(slug)
    if offered and slug not in offered:
        return next((s for s in offered if not MODELS[s].shut_down_by(day)), offered[0])
    return slug


def model_or_default(slug: object) -> Model:
    """The registry's entry for `slug`; the default model for anything it does not know (a stale form, say)."""
    return MODELS[slug] if isinstance(slug, str) and slug in MODELS else model()


# Facts every model shares: the widgets are built from their union, in the first model's order.
ALL_OPTION_NAMES: tuple[str, ...] = tuple(dict.fromkeys(p.name for m in MODELS.values() for p in m.options))
ALL_PARAM_NAMES: tuple[str, ...] = tuple(dict.fromkeys(p.name for m in MODELS.values() for p in m.params))
MAX_IMAGES = max(m.max_images for m in MODELS.values())


def compression_applies(output_format: str) -> bool:
    return isinstance(output_format, str) and output_format in COMPRESSED_FORMATS


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


