"""What the app's tabs share: the edit form, status and money formatting, limits."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import gradio as gr

from components import errors, schema
from components.inputs import EditRequest, UrlText, check_request
from components.jobs import JobUpdate, Phase
from components.mask import editor_background, mask_from_editor
from components.schema import ValidationIssue
from components.transport import check_key

# Jobs spend nearly all their time waiting on Segmind, not on this server's CPU,
# so many run at once. Gradio's default of one running job per event would make
# every visitor wait for the one before; this bound only protects memory.
MAX_CONCURRENT_JOBS = int(os.environ.get("MAX_CONCURRENT_JOBS", "32"))
JOBS_CONCURRENCY_ID = "segmind-jobs"
MAX_SWEEP_VARIANTS = 8

UNEXPECTED = ("Something went wrong inside this app (it has been logged). If a job was submitted, its request "
              "id is in the status line above; otherwise nothing was sent.")
PHASE_LABELS = {Phase.PREPARING: "UPLOADING"}

CSS = """
#banner-emulator { border-left: 6px solid #f5a623; padding: 8px 14px; background: #fff8e6; }
#banner-segmind { border-left: 6px solid #2e7d32; padding: 8px 14px; background: #eef7ee; }
#status { min-height: 3em; }
.state { padding: 2px 10px; border-radius: 999px; font-weight: 700; color: #fff; background: #607d8b; }
.state-QUEUED, .state-WAITING { background: #8d6e63; }
.state-PROCESSING { background: #1e88e5; }
.state-COMPLETED { background: #2e7d32; }
.state-FAILED, .state-ERROR { background: #c62828; }
.state-STOPPED { background: #6d4c41; }
#opt-output_compression input:disabled { opacity: 0.35; }
"""


def state_pill(label: str, css_state: str | None = None) -> str:
    return f'<span class="state state-{css_state or label}">{label}</span>'


def phase_pill(phase: Phase) -> str:
    return state_pill(PHASE_LABELS.get(phase, phase.value), phase.value)


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}".rstrip("0").rstrip(".")


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def backend_label(kind_value: str | None) -> str:
    return "built-in emulator (simulated)" if kind_value == "emulator" else "Segmind"


def status_text(update: JobUpdate, backend: str | None) -> str:
    parts = [phase_pill(update.phase), f"{update.elapsed:.1f} s"]
    if update.request_id:
        parts.append(f"request `{update.request_id}`")
    if update.polls:
        parts.append(f"{update.polls} polls")
    parts.append(backend_label(backend))
    return " · ".join(parts)


def user_message(exc: BaseException) -> str:
    if isinstance(exc, errors.ValidationError):
        return "Nothing was sent. Fix: " + "; ".join(str(i) for i in exc.issues)
    if isinstance(exc, errors.SegmindError):
        return exc.message
    return UNEXPECTED


def visitor_key_from(request: gr.Request | None, typed_key: str | None) -> str | None:
    """A visitor's key: typed in this tab, or sent by a program as the x-api-key header."""
    if typed_key and typed_key.strip():
        return typed_key.strip()
    if request is not None and request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    return None


def option_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's options out of a mapping of widget values; sliders give floats."""
    options = {}
    for param in schema.OPTIONS:
        value = values.get(param.name, param.default)
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
    """Where each image of a UI run came from, to point a message at the right widget."""

    edited: Any
    files: list[str]
    urls: list[UrlText]
    painted_mask: Any
    mask_file: str | None

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> UiImages:
        editor = values.get("editor")
        mask_paths = file_paths(values.get("mask_file"))
        return cls(editor_background(editor), file_paths(values.get("files")), url_lines(values.get("urls")),
                   mask_from_editor(editor), mask_paths[0] if mask_paths else None)

    @property
    def images(self) -> list[Any]:
        return ([self.edited] if self.edited is not None else []) + self.files + self.urls

    @property
    def mask(self) -> Any:
        return self.mask_file if self.mask_file else self.painted_mask

    def count_text(self) -> str:
        total = len(self.images)
        parts = [f"{1 if self.edited is not None else 0} to edit", f"{len(self.files)} uploaded",
                 f"{len(self.urls)} by URL"]
        over = " — **too many**" if total > schema.MAX_IMAGES else ""
        return f"Images: {' + '.join(parts)} = **{total} of {schema.MAX_IMAGES}**{over}"

    def widget_for(self, issue: ValidationIssue) -> str:
        """Which UI input a problem belongs to: editor, files, urls or mask_file."""
        if issue.param == "mask":
            return "mask_file" if self.mask_file else "editor"
        match = re.match(r"image (\d+)", issue.message)
        if match:
            position = int(match.group(1)) - (1 if self.edited is not None else 0)
            if position <= 0:
                return "editor"
            return "files" if position <= len(self.files) else "urls"
        if self.edited is None and not self.files and not self.urls:
            return "editor"
        return "files" if self.files else "urls" if self.urls else "editor"


@dataclass
class Form:
    """The edit form's inputs; the Edit and Sweep tabs both read them."""

    prompt: gr.Textbox
    editor: gr.ImageEditor
    files: gr.File
    urls: gr.Textbox
    mask_file: gr.File
    widgets: dict[str, gr.components.Component]
    deadline: gr.Number
    key: gr.Textbox

    @property
    def kwargs(self) -> dict[str, gr.components.Component]:
        """The form by name, for `inputs_kwargs`: a handler gets `**values` with these keys."""
        return {"prompt": self.prompt, "editor": self.editor, "files": self.files, "urls": self.urls,
                "mask_file": self.mask_file, **self.widgets, "deadline": self.deadline, "visitor_key": self.key}

    @staticmethod
    def request(values: Mapping[str, Any], **overrides: Any) -> EditRequest:
        images = UiImages.read(values)
        options = {**option_values(values), **{k: v for k, v in overrides.items() if k != "prompt"}}
        return EditRequest(overrides.get("prompt", values.get("prompt") or ""), images.images, images.mask, options)

    @staticmethod
    def problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
        """What is wrong with the form, by the input it belongs to."""
        images = UiImages.read(values)
        messages: dict[str, list[str]] = {}
        for issue in check_request(Form.request(values))[1]:
            target = images.widget_for(issue) if issue.param in ("image_urls", "mask") else issue.param
            messages.setdefault(target, []).append(issue.message)
        if not values.get("deadline") or values["deadline"] <= 0:
            messages.setdefault("deadline", []).append("must be a positive number of seconds")
        key = (values.get("visitor_key") or "").strip()
        if key:
            try:
                check_key(key)
            except errors.InvalidKeyError as exc:
                messages.setdefault("visitor_key", []).append(exc.remedy)
        return messages

    @staticmethod
    def problem_summary(messages: Mapping[str, list[str]]) -> str:
        labels = {"editor": "image to edit", "files": "reference images", "urls": "reference URLs",
                  "mask_file": "mask file", "deadline": "deadline", "visitor_key": "API key",
                  **{p.name: p.label.lower() for p in schema.PARAMS}}
        return "; ".join(f"**{labels.get(k, k)}** {'; '.join(v)}" for k, v in messages.items())


# An owner id is a bearer token: random, made by the server, kept in the visitor's browser.
OWNER_PATTERN = re.compile(r"[A-Za-z0-9_-]{24}")
SERVE_DIR = Path(tempfile.gettempdir()) / "gpt-image-1-edit-serve"
SERVE_MAX_AGE = 3600.0


def valid_owner(owner_id: object) -> str:
    """The owner id, if it is one this app could have made; otherwise a gr.Error, never "all runs"."""
    if isinstance(owner_id, str) and OWNER_PATTERN.fullmatch(owner_id):
        return owner_id
    raise gr.Error("This browser has no history yet: reload the page.", title="No history")


def servable(path: str | Path | None) -> str | None:
    """A copy of a kept file that Gradio may hand to the browser.

    OUTPUT_DIR itself is never exposed (no `allowed_paths`): every file the app shows or
    offers for download goes out as a short-lived copy, which Gradio moves into its cache.
    """
    if path is None:
        return None
    source = Path(path)
    target = SERVE_DIR / secrets.token_hex(8) / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    _forget_old_copies()
    return str(target)


def _forget_old_copies() -> None:
    cutoff = time.time() - SERVE_MAX_AGE
    for folder in SERVE_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
