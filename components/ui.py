"""The Gradio app: every parameter a widget, painted masks, references, live status.

Widgets for the options come from the schema. Runs live in the JobManager
(they outlive a closed tab and land in the history); the Run button and the
`/edit` API endpoint start one and watch it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from components import errors, schema
from components.backend import Backend
from components.history import HistoryStore
from components.inputs import EditRequest, check_request
from components.jobs import JobManager, JobUpdate, Run
from components.mask import edit_fraction, mask_preview
from components.models import EditResult
from components.ui_common import (
    CSS, JOBS_CONCURRENCY_ID, MAX_CONCURRENT_JOBS, OWNER_PATTERN, UNEXPECTED, Form, UiImages, file_paths, money,
    option_values, seconds, servable, state_pill, status_text, user_message, visitor_key_from,
)
from components.ui_explore import build_code_panel, build_history_tab, build_sweep_tab

log = logging.getLogger("components.ui")

UPLOAD_LIMIT = f"{schema.MAX_IMAGE_BYTES // (1024 * 1024)}mb"
CANCEL_SETTLE_SECONDS = 3.0
OWNER_STORAGE_KEY = "gpt-image-1-edit-explorer-owner"


def metrics_text(result: EditResult, total: float | None, session_spend: float) -> str:
    m = result.metrics
    rows = [
        ("Server inference time", seconds(m.inference_time)),
        ("Total time (upload, queue, polling, download)", seconds(total)),
        ("Cost of this run", money(m.cost)),
        ("Remaining credits", money(m.remaining_credits)),
        ("Spent this session", money(session_spend)),
        ("Output", f"{result.width}×{result.height} {result.media_type}, {len(result.image) / 1024:,.0f} KB"),
    ]
    return "\n".join(["| Measure | Value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def status_record(update: JobUpdate, run: Run) -> dict[str, Any]:
    """The `/edit` endpoint's status object."""
    result = update.result
    return {
        "status": update.phase.value,
        "request_id": update.request_id or run.record.request_id,
        "elapsed": round(update.elapsed, 3),
        "polls": update.polls,
        "inference_time": result.metrics.inference_time if result else None,
        "cost": result.metrics.cost if result else None,
        "remaining_credits": result.metrics.remaining_credits if result else None,
        "width": result.width if result else None,
        "height": result.height if result else None,
        "media_type": result.media_type if result else None,
        "backend": run.record.backend or None,
        "run_id": run.run_id,
        "notes": list(run.record.notes),
        "error": update.error,
    }


def inspect_inputs(values: dict[str, Any]) -> tuple[str, Image.Image | None, str]:
    """The image count, the mask preview and a line about the mask, for what the form holds now."""
    images = UiImages.read(values)
    mask = images.mask
    if images.mask_file:
        try:
            mask = Image.open(images.mask_file)
            mask.load()
        except (OSError, Image.DecompressionBombError):
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


def build_app(backend: Backend, *, history: HistoryStore | None = None,
              manager: JobManager | None = None) -> gr.Blocks:
    history = history or HistoryStore.from_env()
    manager = manager or JobManager(backend, history)
    model = backend.settings.model
    concurrency = {"concurrency_limit": MAX_CONCURRENT_JOBS, "concurrency_id": JOBS_CONCURRENCY_ID}

    with gr.Blocks(title="GPT Image 1 Edit explorer") as demo:
        gr.Markdown(f"# GPT Image 1 Edit explorer\nEdit and compose images with `{model}` on Segmind: "
                    "paint where to change, add references, and see what every parameter does.")
        gr.Markdown(backend.describe(), elem_id=f"banner-{backend.default_kind.value}")
        # A random id kept (encrypted) in this browser: whose runs the History tab shows.
        owner = gr.BrowserState(None, storage_key=OWNER_STORAGE_KEY, secret=history.browser_secret())

        with gr.Tabs() as tabs:
            with gr.Tab("Edit", id="edit"):
                form, run_button, cancel, status, outputs = _edit_tab(backend)
                build_code_panel(form, backend)
                examples = _add_examples(form)
            build_sweep_tab(form, owner, manager, backend, concurrency)
            build_history_tab(form, owner, history, manager, tabs, concurrency)

        input_view, result_view, download, metrics, count, preview, mask_info = outputs
        session_spend = gr.State(0.0)
        current_run = gr.State("")

        def ensure_owner(owner_id: object) -> str:
            """This browser's owner id; a new random one when it has none (or something else)."""
            return owner_id if isinstance(owner_id, str) and OWNER_PATTERN.fullmatch(owner_id) \
                else secrets.token_urlsafe(18)

        demo.load(ensure_owner, owner, owner, api_visibility="private")

        # Live feedback ------------------------------------------------------------

        inspected = [count, preview, mask_info]

        def inspect(**values):
            return inspect_inputs(values)

        inspect_kwargs = {k: form.kwargs[k] for k in ("editor", "files", "urls", "mask_file")}
        for trigger in (form.editor.change, form.files.change, form.urls.change, form.mask_file.change):
            trigger(inspect, inputs_kwargs=inspect_kwargs, outputs=inspected, queue=False, show_progress="hidden",
                    api_visibility="private", trigger_mode="always_last")
        if examples is not None:
            # The editor reports its change before an example's image has loaded; look again once it has.
            examples.load_input_event.then(inspect, inputs_kwargs=inspect_kwargs, outputs=inspected, queue=False,
                                           show_progress="hidden", api_visibility="private")

        # Running ------------------------------------------------------------------

        def validate_run(owner_id: Any, session_spend_value: float, **values):
            messages = Form.problems(values)
            return [gr.validate(True, ""), gr.validate(True, "")] + [
                gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in form.kwargs]

        def summarize_problems(**values):
            # The validator marks each widget; this says near the Run button why nothing started.
            messages = Form.problems(values)
            if not messages:
                return gr.update(), ""  # a fresh click: Cancel must not name the previous run
            return (f"{state_pill('CHECK', 'FAILED')} Nothing was sent. Fix the marked fields: "
                    f"{Form.problem_summary(messages)}"), ""

        def start_run(owner_id: str, key: str | None, values: dict[str, Any]):
            """Decode, preview and record the inputs (CPU and disk work, kept off the event loop)."""
            images = UiImages.read(values)
            shown = inspect_inputs(values)
            run = manager.start(Form.request(values), owner=owner_id, deadline=float(values["deadline"]),
                                visitor_key=key)
            return images.edited, shown, run

        async def run_from_ui(owner_id: str | None, session_spend_value: float, request: gr.Request, **values):
            owner_id = ensure_owner(owner_id)
            key = visitor_key_from(request, values["visitor_key"])
            refusal = backend.admit(owner_id, key)
            if refusal:
                raise gr.Error(refusal, title="Limit reached", print_exception=False)
            try:
                edited, (shown_count, shown_preview, shown_info), run = await asyncio.to_thread(
                    start_run, owner_id, key, values)
            except errors.SegmindError as exc:
                raise gr.Error(user_message(exc), title="Not started", print_exception=False) from None
            except Exception:
                log.exception("could not start a run")
                raise gr.Error(UNEXPECTED, title="Run failed", print_exception=False) from None
            yield {status: "Starting…", download: gr.update(visible=False), metrics: "", result_view: None,
                   input_view: edited, count: shown_count, preview: shown_preview, mask_info: shown_info,
                   current_run: run.run_id, owner: owner_id}
            try:
                async for update in manager.watch(run):
                    if update.notes:
                        gr.Warning(" ".join(update.notes), title="Inputs adjusted")
                    out: dict[Any, Any] = {status: status_text(update, run.record.backend)}
                    if update.result is not None and run.result_path:
                        spend = session_spend_value + (update.result.metrics.cost or 0.0)
                        shown = servable(run.result_path)
                        out.update({result_view: shown, download: gr.update(value=shown, visible=True),
                                    metrics: metrics_text(update.result, update.elapsed, spend),
                                    session_spend: spend})
                    yield out
            except errors.SegmindError as exc:
                where = f" · request `{exc.request_id}`" if exc.request_id else ""
                pill = state_pill("STOPPED") if isinstance(exc, errors.PollingStoppedError) else state_pill("FAILED")
                yield {status: f"{pill} {type(exc).__name__}{where} — {user_message(exc)}"}
                if not isinstance(exc, errors.PollingStoppedError):
                    raise gr.Error(user_message(exc), title="Run failed", print_exception=False) from None
            except Exception:
                log.exception("unexpected error in a run")
                yield {status: f"{state_pill('FAILED')} {UNEXPECTED}"}
                raise gr.Error(UNEXPECTED, title="Run failed", print_exception=False) from None

        # Registered first: the frontend skips a click's later listeners once a validator fails.
        run_button.click(summarize_problems, inputs_kwargs=form.kwargs, outputs=[status, current_run], queue=False,
                         api_visibility="private", show_progress="hidden")
        run_event = run_button.click(
            run_from_ui, inputs=[owner, session_spend], inputs_kwargs=form.kwargs,
            outputs=[status, result_view, download, metrics, input_view, session_spend, current_run, owner,
                     *inspected],
            validator=validate_run, api_name="run_ui", api_visibility="undocumented", show_progress="minimal",
            **concurrency,
        )

        def on_cancel(run_id: str, owner_id: object) -> str:
            run = manager.get(run_id) if run_id else None
            if run is None and isinstance(owner_id, str):
                # Cancelled before the run's id reached the page: stop this browser's runs not yet submitted.
                starting = [r for r in manager.running(owner_id) if not r.record.request_id]
                run = starting[-1] if starting else None
                for other in starting:
                    manager.stop(other.run_id)
                run_id = run.run_id if run else ""
            if run is not None:
                manager.stop(run_id)
                # A submit already on the wire can't be called back: wait briefly to learn whether it landed.
                run.done.wait(CANCEL_SETTLE_SECONDS)
            record = history.get(run_id) if run_id else None
            if record is not None and record.request_id:
                return (f"{state_pill('STOPPED')} Stopped following request `{record.request_id}`. Segmind has no "
                        "cancel endpoint, so the job may still finish and be billed. Its result is kept for one "
                        "hour: resume it from *History* with this request id.")
            if run is not None and not run.done.is_set():
                return (f"{state_pill('STOPPED')} Stopped. The submit was already on its way; if Segmind "
                        "received it, its request id will appear in *History*.")
            return f"{state_pill('STOPPED')} Cancelled before the job was submitted: nothing was sent to Segmind."

        cancel.click(on_cancel, [current_run, owner], status, cancels=[run_event], queue=False,
                     api_visibility="private")

        _api_endpoint(form, manager, backend)

    demo.job_manager = manager  # for tests and benchmarks that need to see live runs
    demo.history = history
    demo.queue(default_concurrency_limit=MAX_CONCURRENT_JOBS, max_size=4 * MAX_CONCURRENT_JOBS)
    return demo


def _edit_tab(backend: Backend):
    with gr.Row():
        with gr.Column(scale=3):
            editor = gr.ImageEditor(
                label="Image to edit — upload it, then paint the area to change",
                type="pil", image_mode="RGBA", sources=("upload", "clipboard"), transforms=(),
                brush=gr.Brush(colors=["#ff00aa"], color_mode="fixed", default_size=24),
                eraser=gr.Eraser(default_size=24), layers=False, elem_id="editor", height=520,
            )
            gr.Markdown("The painted area becomes the mask (transparent where painted, at the image's own pixel "
                        "size). **The model takes the mask as guidance, not an exact boundary.** Paint nothing to "
                        "let it edit the whole image.")
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
            prompt = gr.Textbox(label="Prompt", lines=5, elem_id="prompt", info=schema.PARAMS_BY_NAME["prompt"].help,
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
                        interactive=schema.compression_applies(schema.PARAMS_BY_NAME["output_format"].default))
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
                run_button = gr.Button("Run", variant="primary", elem_id="run")
                cancel = gr.Button("Cancel", variant="stop", elem_id="cancel")
            status = gr.Markdown("Ready.", elem_id="status")

    with gr.Row():
        input_view = gr.Image(label="Input", type="pil", interactive=False, height=420, elem_id="input-view")
        result_view = gr.Image(label="Result", type="filepath", interactive=False, height=420, elem_id="result",
                               buttons=["download", "fullscreen"])
    with gr.Row():
        metrics = gr.Markdown(elem_id="metrics")
        download = gr.DownloadButton("Download result", visible=False, elem_id="download")

    form = Form(prompt, editor, files, urls, mask_file, widgets, deadline, key)

    prompt.change(None, prompt, prompt_count,
                  js=f"(p) => `${{p.length.toLocaleString()}} / {schema.MAX_PROMPT_CHARS:,} characters`"
                     f" + (p.length > {schema.MAX_PROMPT_CHARS} ? ' — too long' : '')")

    def estimate(quality: str, size: str) -> str:
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
    widgets["output_format"].change(
        lambda fmt: gr.update(interactive=schema.compression_applies(fmt)),
        widgets["output_format"], widgets["output_compression"], queue=False, api_visibility="private")
    cost.value = estimate(schema.PARAMS_BY_NAME["quality"].default, schema.PARAMS_BY_NAME["size"].default)

    outputs = (input_view, result_view, download, metrics, count, preview, mask_info)
    return form, run_button, cancel, status, outputs


def _api_endpoint(form: Form, manager: JobManager, backend: Backend) -> None:
    """`/edit` for programs: images and mask as files, the options by their schema names."""
    with gr.Column(visible=False):
        api_images = gr.File(file_count="multiple", label="images")
        api_mask = gr.File(label="mask")
        api_result = gr.File(label="image_file")
        api_status = gr.JSON(label="status")
        api_trigger = gr.Button("edit")
    api_kwargs = {"prompt": form.prompt, "images": api_images, "mask": api_mask, **form.widgets}

    def api_request(values: dict[str, Any]) -> EditRequest:
        return EditRequest(values["prompt"] or "", file_paths(values["images"]),
                           (file_paths(values["mask"]) or [None])[0], option_values(values))

    def validate_api(**values):
        messages: dict[str, list[str]] = {}
        for issue in check_request(api_request(values))[1]:
            target = "images" if issue.param == "image_urls" else issue.param
            messages.setdefault(target, []).append(issue.message)
        return [gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in api_kwargs]

    async def edit(request: gr.Request, **values):
        """Edit images with GPT Image 1 Edit; streams status, returns (image_file, status)."""
        key = visitor_key_from(request, None)
        refusal = backend.admit(f"api:{request.session_hash}", key)
        if refusal:
            raise gr.Error(refusal, title="Limit reached", print_exception=False)
        # Program runs are kept on disk too, under an owner nobody holds: no browser can list them.
        try:
            run = await asyncio.to_thread(manager.start, api_request(values), owner=f"api-{secrets.token_hex(16)}",
                                          visitor_key=key)
        except errors.SegmindError as exc:
            raise gr.Error(user_message(exc), title=type(exc).__name__, print_exception=False) from None
        try:
            async for update in manager.watch(run):
                record = status_record(update, run)
                yield (servable(run.result_path) if update.result is not None else None), record
        except errors.SegmindError as exc:
            raise gr.Error(user_message(exc), title=type(exc).__name__, print_exception=False) from None
        except Exception as exc:
            if isinstance(exc, gr.Error):
                raise
            log.exception("unexpected error in /edit")
            raise gr.Error(UNEXPECTED, title="Unexpected error", print_exception=False) from None
        finally:
            # A program that cancels its call means stop: unlike a closed browser tab, nobody comes back.
            if not run.done.is_set():
                manager.stop(run.run_id)

    api_trigger.click(edit, inputs_kwargs=api_kwargs, outputs=[api_result, api_status], api_name="edit",
                      validator=validate_api, concurrency_limit=MAX_CONCURRENT_JOBS,
                      concurrency_id=JOBS_CONCURRENCY_ID)


def _add_examples(form: Form) -> gr.Examples | None:
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
    return gr.Examples(rows, [form.prompt, form.editor, form.files, form.mask_file], example_labels=labels,
                       label="Examples", cache_examples=False)


def launch_options() -> dict[str, Any]:
    """What `launch()` needs besides host and port (Gradio reads GRADIO_SERVER_NAME/PORT itself)."""
    return {
        "theme": gr.themes.Soft(),
        "css": CSS,
        "max_file_size": UPLOAD_LIMIT,
        # No allowed_paths: OUTPUT_DIR is never served as such (files go out as copies, see servable).
        "footer_links": ["api", "gradio"],
        "show_error": False,
    }


__all__ = ["build_app", "launch_options"]
