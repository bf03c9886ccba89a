"""The Gradio app: every parameter a widget, painted masks, references, live status.

Widgets for the options come from the schema. Two events run jobs: the Run
button (the UI's inputs) and the `/edit` API endpoint (images and mask as
files); both feed the same `_follow` stream from the job API.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator, Mapping

import gradio as gr
from PIL import Image

from components import errors, schema
from components.backend import Backend, BackendKind
from components.inputs import EditRequest, check_request
from components.jobs import JobUpdate, Phase, run_job
from components.mask import edit_fraction, editor_background, mask_from_editor, mask_preview
from components.models import EditResult
from components.schema import ValidationIssue

log = logging.getLogger("components.ui")

# Jobs spend nearly all their time waiting on Segmind, not on this server's CPU,
# so many run at once. Gradio's default of one running job per event would make
# every visitor wait for the one before; this bound only protects memory.
MAX_CONCURRENT_JOBS = int(os.environ.get("MAX_CONCURRENT_JOBS", "32"))
JOBS_CONCURRENCY_ID = "segmind-jobs"
UPLOAD_LIMIT = f"{schema.MAX_IMAGE_BYTES // (1024 * 1024)}mb"

CSS = """
#banner-emulator { border-left: 6px solid #f5a623; padding: 8px 14px; background: #fff8e6; }
#banner-segmind { border-left: 6px solid #2e7d32; padding: 8px 14px; background: #eef7ee; }
#status { min-height: 3em; }
.state { padding: 2px 10px; border-radius: 999px; font-weight: 700; color: #fff; background: #607d8b; }
.state-QUEUED { background: #8d6e63; }
.state-PROCESSING { background: #1e88e5; }
.state-COMPLETED { background: #2e7d32; }
.state-FAILED, .state-ERROR { background: #c62828; }
.state-STOPPED { background: #6d4c41; }
#opt-output_compression input:disabled { opacity: 0.35; }
"""
UNEXPECTED = ("Something went wrong inside this app (it has been logged). If a job was submitted, its request "
              "id is in the status line above; otherwise nothing was sent.")
PHASE_LABELS = {Phase.PREPARING: "UPLOADING", Phase.SUBMITTING: "SUBMITTING"}


def state_pill(label: str, css_state: str | None = None) -> str:
    return f'<span class="state state-{css_state or label}">{label}</span>'


# Inputs -------------------------------------------------------------------------


def option_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's options out of a mapping of widget values; sliders give floats."""
    options = {}
    for param in schema.OPTIONS:
        value = values.get(param.name, param.default)
        if param.type is schema.ParamType.INTEGER and isinstance(value, float) and value.is_integer():
            value = int(value)
        options[param.name] = value
    return options


def url_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _paths(files: Any) -> list[str]:
    if not files:
        return []
    files = files if isinstance(files, list) else [files]
    return [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files]


@dataclass(frozen=True)
class UiImages:
    """Where each image of a UI run came from, to point a message at the right widget."""

    edited: Image.Image | None
    files: list[str]
    urls: list[str]
    painted_mask: Image.Image | None
    mask_file: str | None

    @classmethod
    def read(cls, editor: Any, files: Any, urls: str | None, mask_file: Any) -> UiImages:
        mask_paths = _paths(mask_file)
        return cls(editor_background(editor), _paths(files), url_lines(urls), mask_from_editor(editor),
                   mask_paths[0] if mask_paths else None)

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


# Results ------------------------------------------------------------------------


def output_dir() -> Path:
    path = Path(os.environ.get("OUTPUT_DIR", "outputs")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def result_filename(model: str, prompt: str, result: EditResult) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40].strip("-") or "edit"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    request = (result.request_id or "sync")[:8]
    return f"{model}_{stamp}_{slug}_{request}.{result.extension}"


def save_result(model: str, prompt: str, result: EditResult) -> Path:
    path = output_dir() / result_filename(model, prompt, result)
    path.write_bytes(result.image)
    return path


def status_text(update: JobUpdate, kind: BackendKind) -> str:
    where = "built-in emulator (simulated)" if kind is BackendKind.EMULATOR else "Segmind"
    parts = [state_pill(PHASE_LABELS.get(update.phase, update.phase.value)), f"{update.elapsed:.1f} s"]
    if update.request_id:
        parts.append(f"request `{update.request_id}`")
    if update.polls:
        parts.append(f"{update.polls} polls")
    parts.append(where)
    return " · ".join(parts)


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}".rstrip("0").rstrip(".")


def metrics_text(result: EditResult, elapsed: float, session_spend: float) -> str:
    m = result.metrics
    rows = [
        ("Server inference time", f"{m.inference_time:.1f} s" if m.inference_time is not None else "—"),
        ("Total time (upload, queue, polling, download)", f"{elapsed:.1f} s"),
        ("Cost of this run", money(m.cost)),
        ("Remaining credits", money(m.remaining_credits)),
        ("Spent this session", money(session_spend)),
        ("Output", f"{result.width}×{result.height} {result.media_type}, {len(result.image) / 1024:,.0f} KB"),
    ]
    return "\n".join(["| Measure | Value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def status_record(update: JobUpdate, kind: BackendKind) -> dict[str, Any]:
    """The `/edit` endpoint's status object."""
    result = update.result
    return {
        "status": update.phase.value,
        "request_id": update.request_id,
        "elapsed": round(update.elapsed, 3),
        "polls": update.polls,
        "inference_time": result.metrics.inference_time if result else None,
        "cost": result.metrics.cost if result else None,
        "remaining_credits": result.metrics.remaining_credits if result else None,
        "width": result.width if result else None,
        "height": result.height if result else None,
        "media_type": result.media_type if result else None,
        "backend": kind.value,
        "error": update.error,
    }


def visitor_key_from(request: gr.Request | None, typed_key: str | None) -> str | None:
    """A visitor's key: typed in this tab, or sent by a program as the x-api-key header."""
    if typed_key and typed_key.strip():
        return typed_key.strip()
    if request is not None and request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    return None


def user_message(exc: errors.SegmindError) -> str:
    if isinstance(exc, errors.ValidationError):
        return "Nothing was sent. Fix: " + "; ".join(str(i) for i in exc.issues)
    return exc.message


# The app ------------------------------------------------------------------------


def build_app(backend: Backend) -> gr.Blocks:
    model = backend.settings.model

    async def follow(request: EditRequest, visitor_key: str | None, deadline: float | None
                     ) -> AsyncIterator[tuple[JobUpdate, BackendKind]]:
        with backend.client(visitor_key) as (client, kind):
            async for update in run_job(client, request, deadline=deadline):
                yield update, kind

    with gr.Blocks(title="GPT Image 1 Edit explorer") as demo:
        gr.Markdown(f"# GPT Image 1 Edit explorer\nEdit and compose images with `{model}` on Segmind: "
                    "paint where to change, add references, and see what every parameter does.")
        gr.Markdown(backend.describe(), elem_id=f"banner-{backend.default_kind.value}")

        with gr.Row():
            with gr.Column(scale=3):
                editor = gr.ImageEditor(
                    label="Image to edit — upload it, then paint the area to change",
                    type="pil", image_mode="RGBA", sources=("upload", "clipboard"), transforms=(),
                    brush=gr.Brush(colors=["#ff00aa"], color_mode="fixed", default_size=24),
                    eraser=gr.Eraser(default_size=24), layers=False, elem_id="editor", height=520,
                )
                gr.Markdown("The painted area becomes the mask (transparent where painted, at the image's own "
                            "pixel size). **The model takes the mask as guidance, not an exact boundary.** "
                            "Paint nothing to let it edit the whole image.")
                with gr.Accordion("Mask that will be sent", open=True):
                    with gr.Row():
                        preview = gr.Image(label="Mask preview (checkerboard = area to edit)", type="pil",
                                           interactive=False, height=220, elem_id="mask-preview")
                        with gr.Column():
                            mask_info = gr.Markdown("No mask: nothing painted.", elem_id="mask-info")
                            mask_file = gr.File(label="Or upload a mask PNG (used instead of painting)",
                                                file_types=[".png"], elem_id="mask-file")
                with gr.Accordion("More reference images", open=True):
                    files = gr.File(label="Reference images (sent after the edited image, in this order)",
                                    file_count="multiple", file_types=["image"], allow_reordering=True,
                                    elem_id="references")
                    urls = gr.Textbox(label="Reference image URLs, one per line (http or https)", lines=2,
                                      elem_id="reference-urls")
                    count = gr.Markdown(UiImages(None, [], [], None, None).count_text(), elem_id="image-count")

            with gr.Column(scale=2):
                prompt = gr.Textbox(label="Prompt", lines=5, elem_id="prompt",
                                    info=schema.PARAMS_BY_NAME["prompt"].help,
                                    placeholder="e.g. Replace the painted area with a bowl of ripe oranges")
                prompt_count = gr.Markdown(f"0 / {schema.MAX_PROMPT_CHARS:,} characters", elem_id="prompt-count")
                widgets: dict[str, gr.components.Component] = {}
                for param in schema.OPTIONS:
                    if param.choices:
                        widgets[param.name] = gr.Radio(list(param.choices), value=param.default, label=param.label,
                                                       info=param.help, elem_id=f"opt-{param.name}")
                    else:
                        widgets[param.name] = gr.Slider(
                            param.minimum, param.maximum, value=param.default, step=1, label=param.label,
                            info=param.help, elem_id=f"opt-{param.name}",
                            interactive=schema.compression_applies(
                                schema.PARAMS_BY_NAME["output_format"].default),
                        )
                cost = gr.Markdown(elem_id="cost-estimate")
                with gr.Accordion("API key and deadline", open=False):
                    key = gr.Textbox(label="Your Segmind API key", type="password", value="",
                                     visible=backend.allow_visitor_keys, elem_id="visitor-key",
                                     info="Used for your runs only; it stays in this browser tab and is never "
                                          "stored, logged or shown back.")
                    deadline = gr.Number(backend.settings.deadline, label="Deadline (seconds)", minimum=5,
                                         maximum=3600, precision=0, elem_id="deadline",
                                         info="Stop following a job after this long (it may still finish).")
                with gr.Row():
                    run = gr.Button("Run", variant="primary", elem_id="run")
                    cancel = gr.Button("Cancel", variant="stop", elem_id="cancel")
                status = gr.Markdown("Ready.", elem_id="status")

        with gr.Row():
            input_view = gr.Image(label="Input", type="pil", interactive=False, height=420, elem_id="input-view")
            result_view = gr.Image(label="Result", type="filepath", interactive=False, height=420,
                                   elem_id="result", buttons=["download", "fullscreen"])
        with gr.Row():
            metrics = gr.Markdown(elem_id="metrics")
            download = gr.DownloadButton("Download result", visible=False, elem_id="download")

        session_spend = gr.State(0.0)
        current_job = gr.State("")

        # Programs call /edit with files; these carry its inputs and outputs.
        with gr.Column(visible=False):
            api_images = gr.File(file_count="multiple", label="images")
            api_mask = gr.File(label="mask")
            api_result = gr.File(label="image_file")
            api_status = gr.JSON(label="status")
            api_trigger = gr.Button("edit")

        examples = _add_examples(prompt, editor, files, mask_file)

        # Live feedback ------------------------------------------------------------

        prompt.change(None, prompt, prompt_count,
                     js=f"(p) => `${{p.length.toLocaleString()}} / {schema.MAX_PROMPT_CHARS:,} characters`"
                        f" + (p.length > {schema.MAX_PROMPT_CHARS} ? ' — too long' : '')")

        def inspect_inputs(editor_value, files_value, urls_value, mask_value):
            images = UiImages.read(editor_value, files_value, urls_value, mask_value)
            mask = images.mask
            if images.mask_file:
                try:
                    mask = Image.open(images.mask_file)
                    mask.load()
                except OSError:
                    return images.count_text(), None, "The uploaded mask is not a readable image."
                source = "Mask from the uploaded file"
            else:
                source = "Mask from your painting"
            if mask is None:
                return images.count_text(), None, "No mask: nothing painted, so the whole image may change."
            info = f"{source}: {mask.width}×{mask.height} PNG"
            if mask.mode in ("RGBA", "LA"):
                info += f", {edit_fraction(mask):.1%} of the image open to edit."
            return images.count_text(), mask_preview(mask), info

        inspected = [count, preview, mask_info]
        for trigger in (editor.change, files.change, urls.change, mask_file.change):
            trigger(inspect_inputs, [editor, files, urls, mask_file], inspected,
                    queue=False, show_progress="hidden", api_visibility="private", trigger_mode="always_last")
        if examples is not None:
            # The editor reports its change before an example's image has loaded; look again once it has.
            examples.load_input_event.then(inspect_inputs, [editor, files, urls, mask_file], inspected,
                                           queue=False, show_progress="hidden", api_visibility="private")

        def estimate(quality, size):
            price = money(schema.estimated_cost({"quality": quality, "size": size}))
            notes = ["OpenAI's list price for this quality and size, before input tokens"]
            if quality not in schema.PRICE_PER_IMAGE:
                notes.append(f"quality `{quality}` estimated as {schema.ESTIMATED_QUALITY}")
            if size not in schema.pixel_sizes():
                notes.append(f"size `{size}` estimated as square")
            return f"Estimated price per image: about **{price}** ({'; '.join(notes)})."

        for name in ("quality", "size"):
            widgets[name].change(estimate, [widgets["quality"], widgets["size"]], cost, queue=False,
                                 api_visibility="private")
        demo.load(estimate, [widgets["quality"], widgets["size"]], cost, api_visibility="private")

        widgets["output_format"].change(
            lambda fmt: gr.update(interactive=schema.compression_applies(fmt)),
            widgets["output_format"], widgets["output_compression"], queue=False, api_visibility="private")

        # Running ------------------------------------------------------------------

        ui_kwargs = {"prompt": prompt, "editor": editor, "files": files, "urls": urls, "mask_file": mask_file,
                     **widgets, "deadline": deadline, "visitor_key": key}

        def ui_problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
            """What is wrong with the form, by the input it belongs to."""
            images = UiImages.read(values["editor"], values["files"], values["urls"], values["mask_file"])
            request = EditRequest(values["prompt"] or "", images.images, images.mask, option_values(values))
            messages: dict[str, list[str]] = {}
            for issue in check_request(request)[1]:
                target = images.widget_for(issue) if issue.param in ("image_urls", "mask") else issue.param
                messages.setdefault(target, []).append(issue.message)
            if not values["deadline"] or values["deadline"] <= 0:
                messages.setdefault("deadline", []).append("must be a positive number of seconds")
            return messages

        def validate_ui(session_spend_value: float, **values):
            messages = ui_problems(values)
            return [gr.validate(True, "")] + [
                gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in ui_kwargs]

        def summarize_problems(**values):
            # The validator marks each widget; this says near the Run button why nothing started.
            messages = ui_problems(values)
            if not messages:
                return gr.update()
            labels = {"editor": "image to edit", "files": "reference images", "urls": "reference URLs",
                      "mask_file": "mask file", "deadline": "deadline", "visitor_key": "API key",
                      **{p.name: p.label.lower() for p in schema.PARAMS}}
            listed = "; ".join(f"**{labels.get(k, k)}** {'; '.join(v)}" for k, v in messages.items())
            return f"{state_pill('CHECK', 'FAILED')} Nothing was sent. Fix the marked fields: {listed}"

        async def run_from_ui(request: gr.Request, session_spend_value: float, **values):
            images = UiImages.read(values["editor"], values["files"], values["urls"], values["mask_file"])
            edit = EditRequest(values["prompt"] or "", images.images, images.mask, option_values(values))
            started = time.monotonic()
            last: JobUpdate | None = None
            kind = backend.default_kind
            shown_count, shown_preview, shown_info = inspect_inputs(
                values["editor"], values["files"], values["urls"], values["mask_file"])
            yield {status: "Starting…", download: gr.update(visible=False), metrics: "", result_view: None,
                   input_view: images.edited, count: shown_count, preview: shown_preview, mask_info: shown_info}
            try:
                async for last, kind in follow(edit, visitor_key_from(request, values["visitor_key"]),
                                               float(values["deadline"])):
                    out = {status: status_text(last, kind)}
                    if last.request_id:
                        out[current_job] = last.request_id
                    if last.result is not None:
                        path = save_result(model, edit.prompt, last.result)
                        spend = session_spend_value + (last.result.metrics.cost or 0.0)
                        out.update({result_view: str(path), download: gr.update(value=str(path), visible=True),
                                    metrics: metrics_text(last.result, time.monotonic() - started, spend),
                                    session_spend: spend})
                    yield out
            except errors.SegmindError as exc:
                where = f" · request `{exc.request_id}`" if exc.request_id else ""
                yield {status: f"{state_pill('FAILED')} {type(exc).__name__}{where} — {user_message(exc)}"}
                raise gr.Error(user_message(exc), title="Run failed", print_exception=False) from None
            except Exception:
                log.exception("unexpected error in a run")
                yield {status: f"{state_pill('FAILED')} {UNEXPECTED}"}
                raise gr.Error(UNEXPECTED, title="Run failed", print_exception=False) from None

        # Registered first: the frontend skips a click's later listeners once a validator fails.
        run.click(summarize_problems, inputs_kwargs=ui_kwargs, outputs=status, queue=False,
                  api_visibility="private", show_progress="hidden")

        run_event = run.click(
            run_from_ui, inputs=[session_spend], inputs_kwargs=ui_kwargs,
            outputs=[status, result_view, download, metrics, input_view, session_spend, current_job, *inspected],
            validator=validate_ui, concurrency_limit=MAX_CONCURRENT_JOBS, concurrency_id=JOBS_CONCURRENCY_ID,
            api_name="run_ui", api_visibility="undocumented", show_progress="minimal",
        )

        def on_cancel(request_id: str) -> str:
            if not request_id:
                return "Cancelled before the job was submitted: nothing was sent to Segmind."
            return (f"{state_pill('STOPPED')} Stopped following request `{request_id}`. Segmind has no cancel endpoint, so the "
                    "job may still finish and be billed. Its result is kept for one hour: resume it with "
                    "this request id.")

        cancel.click(on_cancel, current_job, status, cancels=[run_event], queue=False, api_visibility="private")

        # The /edit API --------------------------------------------------------------

        api_kwargs = {"prompt": prompt, "images": api_images, "mask": api_mask, **widgets}

        def validate_api(**values):
            request = EditRequest(values["prompt"] or "", _paths(values["images"]),
                                  (_paths(values["mask"]) or [None])[0], option_values(values))
            messages: dict[str, list[str]] = {}
            for issue in check_request(request)[1]:
                target = "images" if issue.param == "image_urls" else issue.param
                messages.setdefault(target, []).append(issue.message)
            return [gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in api_kwargs]

        async def edit(request: gr.Request, **values):
            """Edit images with GPT Image 1 Edit; streams status, returns (image_file, status)."""
            edit_request = EditRequest(values["prompt"] or "", _paths(values["images"]),
                                       (_paths(values["mask"]) or [None])[0], option_values(values))
            try:
                async for update, kind in follow(edit_request, visitor_key_from(request, None), None):
                    record = status_record(update, kind)
                    if update.result is not None:
                        path = save_result(model, edit_request.prompt, update.result)
                        yield str(path), record
                    else:
                        yield None, record
            except errors.SegmindError as exc:
                raise gr.Error(user_message(exc), title=type(exc).__name__, print_exception=False) from None
            except Exception:
                log.exception("unexpected error in /edit")
                raise gr.Error(UNEXPECTED, title="Unexpected error", print_exception=False) from None

        api_trigger.click(edit, inputs_kwargs=api_kwargs, outputs=[api_result, api_status], api_name="edit",
                          validator=validate_api, concurrency_limit=MAX_CONCURRENT_JOBS,
                          concurrency_id=JOBS_CONCURRENCY_ID)

    demo.queue(default_concurrency_limit=MAX_CONCURRENT_JOBS, max_size=4 * MAX_CONCURRENT_JOBS)
    return demo


def _add_examples(prompt: gr.Textbox, editor: gr.ImageEditor, files: gr.File, mask_file: gr.File
                  ) -> gr.Examples | None:
    examples_dir = Path(__file__).resolve().parent.parent / "examples"
    manifest = examples_dir / "examples.json"
    if not manifest.exists():
        return None
    rows, labels = [], []
    for entry in json.loads(manifest.read_text()):
        background = str(examples_dir / entry["image"])
        references = [str(examples_dir / r) for r in entry.get("references", [])] or None
        mask = str(examples_dir / entry["mask"]) if entry.get("mask") else None
        rows.append([entry["prompt"], background, references, mask])
        labels.append(entry["label"])
    return gr.Examples(rows, [prompt, editor, files, mask_file], example_labels=labels, label="Examples",
                       cache_examples=False)


def launch_options() -> dict[str, Any]:
    """What `launch()` needs besides host and port (Gradio reads GRADIO_SERVER_NAME/PORT itself)."""
    return {
        "theme": gr.themes.Soft(),
        "css": CSS,
        "max_file_size": UPLOAD_LIMIT,
        "allowed_paths": [str(output_dir())],
        "footer_links": ["api", "gradio"],
        "show_error": False,
    }
