"""The edit form the Edit and Sweep tabs share, and reading what a visitor put in it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import gradio as gr

from components.api import errors, schema
from components.api.schema import ValidationIssue
from components.api.transport import check_key
from components.app.owners import Account, Owner
from components.app.service import EditService
from components.media.images import EditRequest, UrlText, check_request, keep_outside_from
from components.media.decoding import InputError
from components.media.mask import mask_from_editor
from components.media.working_copy import shown_size
from components.ui import copy
from components.ui.models import size_value

# What the photo is called in messages (references are named by their widget and position).
PHOTO_NAME = "the photo"

WIDGET_LABELS = {"photo": "photo", "editor": "painted mask", "files": "reference images", "urls": "reference URLs",
                 "mask_file": "mask file", "deadline": "deadline", "visitor_key": "API key", "model": "model",
                 "keep_outside_mask": copy.KEEP_OUTSIDE_LABEL.lower(), "feather": "feather",
                 **{p.name: p.label.lower() for m in schema.MODELS.values() for p in m.params}}
IMAGE_PARAMS = frozenset(m.image_param.name for m in schema.MODELS.values()) | {"mask"}


# Whose runs a request is about: every handler that reads or makes runs asks one of these two, with the
# browser's token and the Hugging Face profile Gradio read from its session cookie (None when signed out,
# and always None where sign-in is not offered).


def ensure_owner(service: EditService, token: object, profile: Mapping[str, Any] | None = None) -> Owner:
    """The signed-in account's owner, else this browser's (the one its signed token names, or a new one)."""
    return service.owners.ensure(token, Account.from_profile(profile))


def valid_owner(service: EditService, token: object, profile: Mapping[str, Any] | None = None) -> str:
    """The signed-in account's owner id, else the one the browser's token was signed for; otherwise a
    gr.Error, never "all runs". An account's runs need its profile: a signed-out page never reaches them."""
    owner = service.owners.owner_of(token, Account.from_profile(profile))
    if owner is None:
        raise gr.Error(copy.NO_HISTORY, title="No history")
    return owner


def signed_in(profile: Mapping[str, Any] | None) -> bool:
    return Account.from_profile(profile) is not None


def visitor_key_from(request: gr.Request | None, typed_key: str | None) -> str | None:
    """A visitor's key: typed in this tab, or sent by a program (or an MCP client) as the x-api-key header."""
    if typed_key and typed_key.strip():
        return typed_key.strip()
    if request is not None and request.headers.get(copy.VISITOR_KEY_HEADER):
        return request.headers[copy.VISITOR_KEY_HEADER].strip()
    return None


def client_address(service: EditService, request: gr.Request | None) -> str | None:
    """The request's client address, as the service trusts it (see EditService.client_address)."""
    if request is None:
        return None
    client = getattr(request, "client", None)
    return service.client_address(getattr(client, "host", None), request.headers.get("x-forwarded-for"))


def chosen_model(values: Mapping[str, Any]) -> schema.Model:
    """The model the form names; the default when it names none the registry knows."""
    return schema.model_or_default(values.get("model"))


def option_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The chosen model's options out of a mapping of widget values; sliders give floats."""
    options = {}
    for param in chosen_model(values).options:
        value = size_value(values) if param.name == "size" else values.get(param.name, param.default)
        if param.type is schema.ParamType.INTEGER and isinstance(value, float) and value.is_integer():
            value = int(value)
        options[param.name] = value
    return options


def url_lines(text: str | None) -> list[UrlText]:
    """Typed URLs, marked so that no line is ever read as a file on the server."""
    return [UrlText(line.strip()) for line in (text or "").splitlines() if line.strip()]


def file_paths(files: Any) -> list[str]:
    if not files:
        return []
    files = files if isinstance(files, list) else [files]
    return [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files]


@dataclass(frozen=True)
class UiImages:
    """Where each image of a UI run came from, to name it in messages and mark the right widget."""

    photo: str | None        # the photo to edit, as uploaded: kept on the server and sent as it is
    files: list[str]
    urls: list[UrlText]
    painted_mask: Any        # at the size of the working copy the editor shows
    mask_file: str | None

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> UiImages:
        photos = file_paths(values.get("photo"))
        mask_paths = file_paths(values.get("mask_file"))
        return cls(photos[0] if photos else None, file_paths(values.get("files")), url_lines(values.get("urls")),
                   mask_from_editor(values.get("editor")), mask_paths[0] if mask_paths else None)

    @property
    def images(self) -> list[Any]:
        return ([self.photo] if self.photo is not None else []) + self.files + self.urls

    @property
    def named(self) -> list[tuple[str, str]]:
        """(name in messages, widget) for each image, in the order they are sent."""
        names = [(PHOTO_NAME, "photo")] if self.photo is not None else []
        names += [(f"reference {i} ({os.path.basename(p)})", "files") for i, p in enumerate(self.files, start=1)]
        names += [(f"reference URL {i}", "urls") for i in range(1, len(self.urls) + 1)]
        return names

    @property
    def mask(self) -> Any:
        return self.mask_file if self.mask_file else self.painted_mask

    @property
    def mask_painted(self) -> bool:
        return not self.mask_file and self.painted_mask is not None

    def count_text(self, model: schema.Model | None = None) -> str:
        limit = (model or schema.model()).max_images
        total = len(self.images)
        parts = [f"{1 if self.photo is not None else 0} to edit", f"{len(self.files)} uploaded",
                 f"{len(self.urls)} by URL"]
        over = " — **too many**" if total > limit else ""
        return f"Images: {' + '.join(parts)} = **{total} of {limit}**{over}"

    def widget_for(self, issue: ValidationIssue) -> str:
        """Which UI input a problem belongs to: photo, editor, files, urls or mask_file."""
        if issue.param == "mask":
            return "mask_file" if self.mask_file else "editor"
        for name, widget in self.named:
            if issue.message.startswith(name):
                return widget
        return "files" if self.files else "urls" if self.urls else "photo"


EMPTY_COUNT = UiImages(None, [], [], None, None).count_text()


@dataclass
class Form:
    """The edit form's inputs; the Edit and Sweep tabs both read them."""

    prompt: gr.Textbox
    photo: gr.File
    editor: gr.ImageEditor
    files: gr.File
    urls: gr.Textbox
    mask_file: gr.File
    widgets: dict[str, gr.components.Component]
    deadline: gr.Number
    key: gr.Textbox
    model: gr.Dropdown
    custom_width: gr.Number
    custom_height: gr.Number

    @property
    def kwargs(self) -> dict[str, gr.components.Component]:
        """The form by name, for `inputs_kwargs`: a handler gets `**values` with these keys."""
        return {"model": self.model, "prompt": self.prompt, "photo": self.photo, "editor": self.editor,
                "files": self.files, "urls": self.urls, "mask_file": self.mask_file, **self.widgets,
                "custom_width": self.custom_width, "custom_height": self.custom_height, "deadline": self.deadline,
                "visitor_key": self.key}

    @property
    def option_kwargs(self) -> dict[str, gr.components.Component]:
        """What a price depends on: the model, its options (a custom size too), whose key runs it, and the
        photo and references (size `auto` follows the first image's shape)."""
        return {k: self.kwargs[k] for k in ("model", *self.widgets, "custom_width", "custom_height", "visitor_key",
                                            "photo", "files")}

    @property
    def image_kwargs(self) -> dict[str, gr.components.Component]:
        return {k: self.kwargs[k] for k in ("photo", "editor", "files", "urls", "mask_file", "model")}


def first_image_size(values: Mapping[str, Any]) -> tuple[int, int] | None:
    """The size of the first image the form sends (the photo, else the first reference file), as a viewer
    shows it, from its header: what size `auto` follows. None without one, for a URL, or for a file that is
    not a readable image (the form's check says what is wrong with it)."""
    first = (file_paths(values.get("photo")) or file_paths(values.get("files")) or [None])[0]
    if first is None:
        return None
    try:
        return shown_size(first)
    except InputError:
        return None


def form_request(values: Mapping[str, Any]) -> EditRequest:
    """The edit the form describes."""
    images = UiImages.read(values)
    return EditRequest(values.get("prompt") or "", images.images, images.mask, option_values(values),
                       mask_painted=images.mask_painted, names=[name for name, _ in images.named],
                       model=chosen_model(values).slug,
                       keep_outside=keep_outside_from(values.get("keep_outside_mask"), values.get("feather")))


def form_problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the form, by the input it belongs to."""
    images = UiImages.read(values)
    messages: dict[str, list[str]] = {}
    for issue in check_request(form_request(values))[1]:
        target = images.widget_for(issue) if issue.param in IMAGE_PARAMS else issue.param
        messages.setdefault(target, []).append(issue.message)
    if not values.get("deadline") or values["deadline"] <= 0:
        messages.setdefault("deadline", []).append(copy.DEADLINE_PROBLEM)
    key = (values.get("visitor_key") or "").strip()
    if key:
        try:
            check_key(key)
        except errors.InvalidKeyError as exc:
            messages.setdefault("visitor_key", []).append(exc.remedy)
    return messages


def problem_summary(messages: Mapping[str, list[str]]) -> str:
    return "; ".join(f"**{WIDGET_LABELS.get(k, k)}** {'; '.join(v)}" for k, v in messages.items())
