"""The Edit tab: the form (every parameter a widget), painted masks, references, Run and Cancel.

Layout (`build_edit_tab`) is apart from behaviour (`EditHandlers`, plain methods a
test can call) and from wiring (`wire_edit_tab`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator

import gradio as gr
from PIL import Image

from components.api import errors, schema
from components.api.models import EditResult
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.service import EditService
from components.media.mask import edit_fraction, mask_preview
from components.ui import copy
from components.ui.errors import as_gr_error, in_thread
from components.ui.form import (
    EMPTY_COUNT, Form, UiImages, ensure_owner, form_problems, form_request, problem_summary, visitor_key_from,
)
from components.ui.serving import servable
from components.ui.status import check_pill, money, pill, seconds, status_line
from components.app.status import RunStatus

# After Cancel, how long to wait to learn whether a submit already on the wire landed.
CANCEL_SETTLE_SECONDS = 3.0


@dataclass
class EditTab:
    form: Form
    run_button: gr.Button
    cancel: gr.Button
    status: gr.Markdown
    input_view: gr.Image
    result_view: gr.Image
    download: gr.DownloadButton
    metrics: gr.Markdown
    count: gr.Markdown
    preview: gr.Image
    mask_info: gr.Markdown
    cost: gr.Markdown
    session_spend: gr.State
    current_run: gr.State

    @property
    def inspected(self) -> list[gr.components.Component]:
        return [self.count, self.preview, self.mask_info]


# Pure functions behind the widgets ------------------------------------------------------


def estimate(quality: str, size: str) -> str:
    price = money(schema.estimated_cost({"quality": quality, "size": size}))
    notes = ["OpenAI's list price for this quality and size, before input tokens"]
    if quality not in schema.PRICE_PER_IMAGE:
        notes.append(f"quality `{quality}` estimated as {schema.ESTIMATED_QUALITY}")
    if size not in schema.pixel_sizes():
        notes.append(f"size `{size}` estimated as square")
    return f"Estimated price per image: about **{price}** ({'; '.join(notes)})."


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


# Behaviour ----------------------------------------------------------------------------


class EditHandlers:
    def __init__(self, service: EditService, history: HistoryStore, tab: EditTab, owner: gr.BrowserState) -> None:
        self.service = service
        self.history = history
        self.tab = tab
        self.owner = owner  # an output too: a first run may have to create this browser's id

    def inspect(self, **values: Any) -> tuple[str, Image.Image | None, str]:
        return inspect_inputs(values)

    def validate(self, owner_id: Any, session_spend: float, **values: Any) -> list[dict]:
        """Marks each widget with what is wrong with it (Gradio's validator); the first two are the extras."""
        messages = form_problems(values)
        return [gr.validate(True, ""), gr.validate(True, "")] + [
            gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in self.tab.form.kwargs]

    def summarize(self, **values: Any) -> tuple[Any, str]:
        """Says near the Run button why nothing started (the validator only marks the widgets)."""
        messages = form_problems(values)
        if not messages:
            return gr.update(), ""  # a fresh click: Cancel must not name the previous run
        return f"{check_pill()} Nothing was sent. Fix the marked fields: {problem_summary(messages)}", ""

    def _start(self, owner_id: str, key: str | None, values: dict[str, Any]):
        """Decode, preview and record the inputs (CPU and disk work, kept off the event loop)."""
        shown = inspect_inputs(values)
        run = self.service.start_edit(form_request(values), owner=owner_id, visitor_key=key,
                                      deadline=float(values["deadline"]))
        return UiImages.read(values).edited, shown, run

    async def run(self, owner_id: str | None, session_spend: float, request: gr.Request,
                  **values: Any) -> AsyncIterator[dict]:
        tab = self.tab
        owner_id = ensure_owner(owner_id)
        key = visitor_key_from(request, values["visitor_key"])
        edited, (count, preview, mask_info), run = await in_thread(self._start, owner_id, key, values)
        yield {tab.status: "Starting…", tab.download: gr.update(visible=False), tab.metrics: "",
               tab.result_view: None, tab.input_view: edited, tab.count: count, tab.preview: preview,
               tab.mask_info: mask_info, tab.current_run: run.run_id, self.owner: owner_id}
        try:
            async for update in run.subscribe():
                if update.notes:
                    gr.Warning(" ".join(update.notes), title="Inputs adjusted")
                out: dict[Any, Any] = {tab.status: status_line(update, run.record.backend)}
                if update.result is not None and run.result_path:
                    spend = session_spend + (update.result.metrics.cost or 0.0)
                    shown = servable(run.result_path)
                    out.update({tab.result_view: shown, tab.download: gr.update(value=shown, visible=True),
                                tab.metrics: metrics_text(update.result, update.elapsed, spend),
                                tab.session_spend: spend})
                yield out
        except errors.PollingStoppedError as exc:
            yield {tab.status: f"{pill(RunStatus.STOPPED)} {copy.error_message(exc)}"}
        except Exception as exc:  # noqa: BLE001 - shown in the status line, then as a toast
            where = f" · request `{exc.request_id}`" if getattr(exc, "request_id", None) else ""
            yield {tab.status: f"{pill(RunStatus.FAILED)}{where} — {copy.error_message(exc)}"}
            raise as_gr_error(exc, "Run failed") from None

    def cancel(self, run_id: str, owner_id: object) -> str:
        service = self.service
        run = service.get(run_id) if run_id else None
        if run is None and isinstance(owner_id, str):
            # Cancelled before the run's id reached the page: stop this browser's runs not yet submitted.
            starting = [r for r in service.live(owner_id) if not r.record.request_id]
            for other in starting:
                other.stop()
            run = starting[-1] if starting else None
            run_id = run.run_id if run else ""
        if run is not None:
            run.stop()
            # A submit already on the wire can't be called back: wait briefly to learn whether it landed.
            run.wait(CANCEL_SETTLE_SECONDS)
        record = self.history.get(run_id) if run_id else None
        if record is not None and record.request_id:
            return f"{pill(RunStatus.STOPPED)} {copy.cancelled_after_submit(record.request_id)}"
        if run is not None and not run.done:
            return f"{pill(RunStatus.STOPPED)} {copy.CANCELLED_IN_FLIGHT}"
        return f"{pill(RunStatus.STOPPED)} {copy.CANCELLED_BEFORE_SUBMIT}"


# Layout -------------------------------------------------------------------------------


def build_edit_tab(backend: Backend) -> EditTab:
    """The Edit tab's widgets, inside the caller's `gr.Tab`."""
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
                count = gr.Markdown(EMPTY_COUNT, elem_id="image-count")

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
            cost = gr.Markdown(estimate(schema.PARAMS_BY_NAME["quality"].default, schema.PARAMS_BY_NAME["size"].default),
                               elem_id="cost-estimate")
            with gr.Accordion(copy.KEY_ACCORDION, open=False):
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

    prompt.change(None, prompt, prompt_count,
                  js=f"(p) => `${{p.length.toLocaleString()}} / {schema.MAX_PROMPT_CHARS:,} characters`"
                     f" + (p.length > {schema.MAX_PROMPT_CHARS} ? ' — too long' : '')")
    form = Form(prompt, editor, files, urls, mask_file, widgets, deadline, key)
    return EditTab(form, run_button, cancel, status, input_view, result_view, download, metrics, count, preview,
                   mask_info, cost, gr.State(0.0), gr.State(""))


# Wiring -------------------------------------------------------------------------------


def wire_edit_tab(tab: EditTab, handlers: EditHandlers, owner: gr.BrowserState, concurrency: dict[str, Any],
                  examples: gr.Examples | None) -> None:
    form, widgets = tab.form, tab.form.widgets
    quiet = {"queue": False, "api_visibility": "private"}

    for name in ("quality", "size"):
        widgets[name].change(estimate, [widgets["quality"], widgets["size"]], tab.cost, **quiet)
    widgets["output_format"].change(lambda fmt: gr.update(interactive=schema.compression_applies(fmt)),
                                    widgets["output_format"], widgets["output_compression"], **quiet)

    for trigger in (form.editor.change, form.files.change, form.urls.change, form.mask_file.change):
        trigger(handlers.inspect, inputs_kwargs=form.image_kwargs, outputs=tab.inspected, show_progress="hidden",
                trigger_mode="always_last", **quiet)
    if examples is not None:
        # The editor reports its change before an example's image has loaded; look again once it has.
        examples.load_input_event.then(handlers.inspect, inputs_kwargs=form.image_kwargs, outputs=tab.inspected,
                                       show_progress="hidden", **quiet)

    # Registered first: the frontend skips a click's later listeners once a validator fails.
    tab.run_button.click(handlers.summarize, inputs_kwargs=form.kwargs, outputs=[tab.status, tab.current_run],
                         show_progress="hidden", **quiet)
    run_event = tab.run_button.click(
        handlers.run, inputs=[owner, tab.session_spend], inputs_kwargs=form.kwargs,
        outputs=[tab.status, tab.result_view, tab.download, tab.metrics, tab.input_view, tab.session_spend,
                 tab.current_run, owner, *tab.inspected],
        validator=handlers.validate, api_name="run_ui", api_visibility="undocumented", show_progress="minimal",
        **concurrency,
    )
    tab.cancel.click(handlers.cancel, [tab.current_run, owner], tab.status, cancels=[run_event], **quiet)
