"""Turning what a person supplies (paths, bytes, PIL images, URLs) into checked inputs.

Local images are decoded here so that nothing the model would refuse is
uploaded or sent: corrupt files, decompression bombs, and masks that are not
PNGs with alpha or whose size differs from the first image's.

Each distinct image is decoded once: the form's validator, the run and its
history record all ask for the same bytes, so checked images are kept in a
small cache keyed by the bytes' digest (bounded in entries and bytes).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from PIL import Image, ImageOps

from components.api import errors, schema
from components.api.models import EditInputs, InputImage, LocalImage, RemoteImage
from components.api.schema import ValidationIssue
from components.media.composite import MAX_FEATHER, KeepOutside, same_aspect, same_shape
from components.media.decoding import InputError, check_file_size, displayed_size, open_bounded

ImageSource = Union[str, os.PathLike, bytes, Image.Image]


# Larger inputs only cost upload time: the model's output is at most 1536 px a side.
MAX_INPUT_SIDE = 4096
# A painted mask may differ from its image's aspect by rounding only (it was painted on a scaled copy).
PAINTED_ASPECT_TOLERANCE = 0.02
REENCODE_OPTIONS = {"JPEG": {"quality": 92}, "WEBP": {"quality": 90}, "PNG": {}}


class UrlText(str):
    """Text a person typed as a URL: never opened as a path on this machine, whatever it says."""


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **REENCODE_OPTIONS.get(fmt, {}))
    return buffer.getvalue()


class _CheckedImages:
    """Checked images by (digest of the bytes as given, name): an LRU bounded in entries and bytes."""

    def __init__(self, max_entries: int = 32, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], LocalImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def scaled_mask(self, mask: LocalImage, size: tuple[int, int], original_size: tuple[int, int],
                    note: str | None = None) -> LocalImage:
        """A mask scaled to the pixel size of the image it is sent with, made once per (mask, size).

        `original_size` is the size of that image as given, before any reduction."""
        key = (f"{mask.digest}:{size[0]}x{size[1]}", mask.name)
        found = self._get(key)
        if found is not None:
            return found
        with open_bounded(mask.data, mask.name) as image:
            # NEAREST keeps the mask hard-edged: alpha stays exactly 0 or 255.
            resized = image.convert("RGBA").resize(size, Image.Resampling.NEAREST)
        scaled = LocalImage(_encode(resized, "PNG"), "image/png", size[0], size[1], True, mask.name, original_size,
                            note)
        self._put(key, scaled)
        return scaled

    def get_or_decode(self, data: bytes, name: str) -> LocalImage:
        key = (hashlib.sha256(data).hexdigest(), name)
        found = self._get(key)
        if found is not None:
            return found
        image = _decode(data, name)
        self._put(key, image)
        return image

    def _get(self, key: tuple[str, str]) -> LocalImage | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def _put(self, key: tuple[str, str], image: LocalImage) -> None:
        with self._lock:
            if key not in self._items:
                self._items[key] = image
                self._bytes += len(image.data)
            while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.data)


CHECKED = _CheckedImages()


def _decode(data: bytes, name: str) -> LocalImage:
    """Check the bytes; pass them through untouched unless the model needs them changed."""
    if not data:
        raise InputError(f"{name} is empty")
    notes = []
    with open_bounded(data, name, longest=MAX_INPUT_SIDE) as opened:
        original = displayed_size(opened)   # sizes are judged as shown, as a mask would be drawn
        orientation = opened.getexif().get(0x0112, 1)
        opened.load()
        fmt = opened.format or ""
        image: Image.Image = opened
        if fmt not in schema.INPUT_IMAGE_TYPES:
            # Other formats (GIF, BMP, TIFF...) become PNG, which the model takes.
            image = opened.convert("RGBA" if has_alpha(opened) else "RGB")
            fmt = "PNG"
            notes.append(f"converted from {opened.format or 'an unknown format'} to PNG")
        if orientation != 1:
            # Cameras store rotation as a tag; bake it in so the model sees what a viewer shows.
            image = ImageOps.exif_transpose(image)
            notes.append("rotated as its EXIF orientation says")
        if max(original) > MAX_INPUT_SIDE or image.size != original or len(data) > schema.MAX_IMAGE_BYTES:
            scale = min(1.0, MAX_INPUT_SIDE / max(original))
            reduced = (max(1, round(original[0] * scale)), max(1, round(original[1] * scale)))
            image = image.resize(reduced, Image.Resampling.LANCZOS)
            notes.append(f"reduced from {original[0]}x{original[1]} to {reduced[0]}x{reduced[1]} "
                         f"(inputs are capped at {MAX_INPUT_SIDE} px a side)")
        if notes:
            data = _encode(image, fmt)
            if len(data) > schema.MAX_IMAGE_BYTES:
                raise InputError(f"{name} is still over 50 MB after reducing it")
        return LocalImage(data, schema.INPUT_IMAGE_TYPES[fmt], image.width, image.height, has_alpha(image),
                          name, original, f"{name} was {' and '.join(notes)}." if notes else None)


def load_image(source: ImageSource, name: str = "image") -> InputImage:
    """Read one image source. Raises InputError with a message a person can act on."""
    if isinstance(source, LocalImage | RemoteImage):
        return source
    if isinstance(source, Image.Image):
        buffer = io.BytesIO()
        source.save(buffer, format="PNG")
        return CHECKED.get_or_decode(buffer.getvalue(), name)
    if isinstance(source, (bytes, bytearray)):
        return CHECKED.get_or_decode(bytes(source), name)
    if isinstance(source, UrlText) and not source.startswith(("http://", "https://", "data:")):
        raise InputError(f"{name}: {source[:60]!r} is not an http(s) URL")
    if isinstance(source, str) and source.startswith("data:"):
        # Held to the same byte limit as a file, judged before the base64 is decoded.
        check_file_size(len(source) * 3 // 4, name)
        try:
            return CHECKED.get_or_decode(schema.parse_data_uri(source)[1], name)
        except InputError:
            raise
        except ValueError as exc:
            raise InputError(f"{name}: {exc}") from None
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        if not schema.is_image_reference(source):
            raise InputError(f"{name} is not a valid URL: {source[:80]}")
        return RemoteImage(source)
    if isinstance(source, str) and ":" in source.split("/", 1)[0] and not os.path.exists(source):
        scheme = source.split(":", 1)[0]
        raise InputError(f"{name}: only http(s) URLs and local files are accepted, not {scheme}: links")
    path = Path(source)
    try:
        if not path.is_file():
            raise InputError(f"{name}: no such file {path.name!r}")
        check_file_size(path.stat().st_size, name)
        data = path.read_bytes()
    except OSError:
        raise InputError(f"{name}: the file {path.name!r} cannot be read") from None
    return CHECKED.get_or_decode(data, name)


@dataclass(frozen=True)
class PreparedInputs:
    images: list[InputImage]
    mask: InputImage | None
    notes: list[str] = field(default_factory=list)


def prepare_inputs(
    images: Sequence[ImageSource], mask: ImageSource | None = None, *, mask_painted: bool = False,
    names: Sequence[str] | None = None, model: schema.Model | None = None,
) -> tuple[PreparedInputs | None, list[ValidationIssue]]:
    """Load and check every image and the mask against `model`'s limits; return them or what is wrong.

    A painted mask was drawn on a scaled copy of the first image: it is scaled to that
    image's pixel size instead of having to match it. `names` say what each image is
    called in messages (default "image N"). A model that takes no mask still gets its
    mask checked and kept: the run keeps it, though it is not sent.
    """
    model = model or schema.model()
    param = model.image_param.name
    issues: list[ValidationIssue] = []
    if not images:
        issues.append(ValidationIssue(param, "is empty: add at least one image to edit"))
    elif problem := model.image_count_problem(len(images)):
        issues.append(problem)
    loaded: list[InputImage] = []
    first: InputImage | None = None
    for position, source in enumerate(images[: model.max_images], start=1):
        name = names[position - 1] if names and position <= len(names) else f"image {position}"
        try:
            image = load_image(source, name)
        except InputError as exc:
            issues.append(ValidationIssue(param, str(exc)))
            continue
        if position == 1:
            first = image
        loaded.append(image)
    loaded_mask: InputImage | None = None
    if mask is not None:
        try:
            loaded_mask = load_image(mask, "mask")
        except InputError as exc:
            issues.append(ValidationIssue("mask", str(exc)))
        else:
            if mask_painted and isinstance(loaded_mask, LocalImage) and isinstance(first, LocalImage):
                loaded_mask, problem = _painted_to_size(loaded_mask, first)
                if problem:
                    issues.append(problem)
            issues.extend(check_mask(loaded_mask, first))
    if issues:
        return None, issues
    if isinstance(loaded_mask, LocalImage) and isinstance(first, LocalImage) \
            and (loaded_mask.width, loaded_mask.height) != (first.width, first.height):
        loaded_mask = _fit_mask(loaded_mask, first)
    notes = [i.note for i in [*loaded, loaded_mask] if isinstance(i, LocalImage) and i.note]
    if loaded_mask is not None and not model.takes_mask:
        notes.append(f"{model.label} takes no mask: the mask was kept with the run, not sent.")
    return PreparedInputs(loaded, loaded_mask, notes), []


def painted_on(mask: tuple[int, int], image: tuple[int, int]) -> bool:
    """Whether a mask of this size could have been painted on (a scaled copy of) an image of that size."""
    return same_aspect(mask, image, PAINTED_ASPECT_TOLERANCE)


def _painted_to_size(mask: LocalImage, first: LocalImage) -> tuple[LocalImage, ValidationIssue | None]:
    """A mask painted on a working copy, at the first image's size as shown (before any reduction)."""
    shown = first.original_size or (first.width, first.height)
    if not painted_on((mask.width, mask.height), shown):
        return mask, ValidationIssue("mask", f"was painted on a {mask.width}x{mask.height} image, not on this "
                                             f"{shown[0]}x{shown[1]} one: paint it again")
    if (mask.width, mask.height) == shown:
        return mask, None
    # Straight to the size it is sent at: one scaling even when the photo itself was reduced.
    sent = (first.width, first.height)
    return CHECKED.scaled_mask(mask, sent, shown, _fitted_note(sent) if sent != shown else None), None


def _fit_mask(mask: LocalImage, first: LocalImage) -> LocalImage:
    """Scale the mask with a first image that was reduced, keeping its alpha hard-edged."""
    sent = (first.width, first.height)
    return CHECKED.scaled_mask(mask, sent, mask.original_size or (mask.width, mask.height), _fitted_note(sent))


def _fitted_note(size: tuple[int, int]) -> str:
    return f"the mask was scaled to {size[0]}x{size[1]} with the image."


def check_mask(mask: InputImage, first: InputImage | None) -> list[ValidationIssue]:
    """The model's mask rules; a remote mask or first image can't be checked here."""
    if not isinstance(mask, LocalImage):
        return []
    issues = []
    if mask.media_type != "image/png" or not mask.has_alpha:
        issues.append(ValidationIssue(
            "mask", "must be a PNG with an alpha channel (transparent where the image is to be edited)"))
    if len(mask.data) > schema.MAX_MASK_BYTES:
        issues.append(ValidationIssue("mask", f"is {len(mask.data) / 1e6:.1f} MB; the limit is 4 MB"))
    if isinstance(first, LocalImage):
        first_size = first.original_size or (first.width, first.height)
        mask_size = mask.original_size or (mask.width, mask.height)
        if mask_size != first_size:
            issues.append(ValidationIssue(
                "mask", f"is {mask_size[0]}x{mask_size[1]} but the first image is {first_size[0]}x{first_size[1]}; "
                        "they must be the same size"))
    return issues


@dataclass(frozen=True)
class EditRequest:
    """An edit as a person gave it: images as paths, bytes, PIL images or URLs."""

    prompt: str
    images: Sequence[ImageSource]
    mask: ImageSource | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    mask_painted: bool = False             # drawn on a scaled copy of the first image: scale it to fit
    names: Sequence[str] | None = None     # what each image is called in messages
    model: str | None = None               # a registry slug; the default model without one
    keep_outside: KeepOutside | None = None  # lay the result over the photo through the mask


def keep_outside_from(keep: Any, feather: Any) -> KeepOutside | None:
    """The request to keep the original outside the mask, from a checkbox and a feather in pixels.

    The widgets bound the feather already (Gradio refuses a slider's value outside its range); one
    from elsewhere is held to the bounds rather than dropping the request.
    """
    if not keep:
        return None
    try:
        pixels = round(float(feather or 0))
    except (TypeError, ValueError):
        pixels = 0
    return KeepOutside(min(MAX_FEATHER, max(0, pixels)))


KEEP_OUTSIDE_NEEDS_MASK = "needs a mask: paint the area to change or upload a mask (or turn it off)"
# Tried in turn for a size of the photo's shape to suggest: a model's usual sizes first.
SUGGESTED_LONG_EDGES = (2048, 1536, 1024, 3072, 3840)


def photo_shaped_size(photo: tuple[int, int], rule: schema.SizeRule) -> tuple[int, int] | None:
    """A custom size `rule` allows with the photo's shape (within the composite's tolerance), if there is one."""
    for edge in SUGGESTED_LONG_EDGES:
        scale = edge / max(photo)
        size = tuple(max(rule.multiple, round(side * scale / rule.multiple) * rule.multiple) for side in photo)
        if rule.problem(*size) is None and same_shape(photo, size):
            return size
    return None


def keep_outside_shape_problem(photo: tuple[int, int], model: schema.Model, size: Any) -> str | None:
    """Why the result of this model at this size will not be of the photo's shape, known before anything is paid.

    `auto` on a model with custom sizes may come back any shape: that is judged when the result arrives.
    """
    asked = schema.parse_size(size)
    if asked is None and model.size_rule is not None:
        return None
    if asked is not None and same_shape(photo, asked):
        return None
    listed = list(model.pixel_sizes().values())
    if asked is None and any(same_shape(photo, pixels) for pixels in listed):
        return None
    shaped = next(((m.slug, size) for m in schema.MODELS.values() if m.size_rule
                   for size in [photo_shaped_size(photo, m.size_rule)] if size), None)
    advice = "Choose a size of the photo's shape" + (f" ({shaped[0]} takes {shaped[1][0]}x{shaped[1][1]})"
                                                     if shaped else "")
    shape = f"the photo ({photo[0]}x{photo[1]})"
    if asked is not None:
        return (f"is not possible at size {asked[0]}x{asked[1]}: the result would be another shape than {shape} "
                f"and have to be stretched. {advice}, or turn it off")
    return (f"is not possible on {model.label}: its sizes ({', '.join(f'{w}x{h}' for w, h in listed)}) are all "
            f"another shape than {shape}, so the result would have to be stretched. {advice}, or turn it off")


def check_request(request: EditRequest) -> tuple[EditInputs | None, list[ValidationIssue]]:
    """Every problem with a request, found without touching the network; the checked inputs if none."""
    try:
        model = schema.model(request.model)
    except schema.UnknownModelError as exc:
        return None, [ValidationIssue("model", str(exc))]
    inputs, issues = prepare_inputs(request.images, request.mask, mask_painted=request.mask_painted,
                                    names=request.names, model=model)
    if request.keep_outside is not None and request.mask is None:
        issues.append(ValidationIssue("keep_outside_mask", KEEP_OUTSIDE_NEEDS_MASK))
    # The photo's shape against the model's sizes whether or not a mask came with the request: a check that
    # reads no painting (the Edit tab's summary at the click) must find this one too.
    if request.keep_outside is not None and inputs is not None and isinstance(inputs.images[0], LocalImage):
        first = inputs.images[0]
        if problem := keep_outside_shape_problem((first.width, first.height), model, request.options.get("size")):
            issues.append(ValidationIssue("keep_outside_mask", problem))
    image_param = model.image_param.name
    image_issue_seen = any(i.param == image_param for i in issues)
    # Stand-in URLs let the schema judge prompt and options before anything is uploaded.
    count = min(len(request.images), model.max_images)
    stand_in = [f"https://validation.invalid/{i}.png" for i in range(count)]
    mask = "https://validation.invalid/mask.png" if request.mask is not None else None
    for issue in model.validate(model.build_payload(request.prompt, stand_in, mask, **request.options)):
        if issue not in issues and not (issue.param == image_param and image_issue_seen):
            issues.append(issue)
    if issues or inputs is None:
        return None, issues
    return EditInputs(request.prompt, tuple(inputs.images), inputs.mask, dict(request.options),
                      tuple(inputs.notes), request.model), []


def prepare(request: EditRequest) -> EditInputs:
    """The checked inputs, or ValidationError listing every problem (nothing is sent either way)."""
    inputs, issues = check_request(request)
    if issues or inputs is None:
        raise errors.ValidationError(issues)
    return inputs
