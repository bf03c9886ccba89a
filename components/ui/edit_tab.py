"""The Edit tab: the photo, the editor that paints its mask, the prompt, Run and Cancel, every parameter.

Layout (`build_edit_tab`) is apart from behaviour (`EditHandlers`, plain methods a
test can call) and from wiring (`wire_edit_tab`). The editor paints on a light
working copy of the photo (components/media/working_copy.py); the photo itself
is uploaded once, kept on the server and sent to Segmind as it is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any, AsyncIterator, Callable

import gradio as gr
from PIL import Image

from components.api import errors, schema
from components.api.models import EditResult
from components.app import refusals
from components.app.backend import Backend
from components.app.history import HistoryStore, RunRecord
from components.app.owners import Account
from components.app.retired import RetiredModels
from components.app.runs import Run, RunUpdate
from components.app.service import CancelOutcome, EditService
from components.app.status import RunStatus
from components.media.composite import feather_preview
from components.media.decoding import InputError, open_bounded
from components.media.images import KEEP_OUTSIDE_NEEDS_MASK, keep_outside_from
from components.media.mask import edit_fraction, mask_preview
from components.media.working_copy import BRUSH_SIZE, make_working_copy, shown_size
from components.ui import copy
from components.ui.continuing import continue_note, continued_from, selected_run
from components.ui.editor_bounds import bound_editor
from components.ui.errors import as_gr_error, title_for
from components.ui.form import (
    EMPTY_COUNT, Form, UiImages, chosen_model, client_address, ensure_owner, file_paths, first_image_size,
    form_problems, form_request, problem_summary, valid_owner, visitor_key_from,
)
from components.ui.models import (
    CUSTOM_SIZE, estimate, follow_model, mask_note_for, model_card, model_choices, size_check, size_choices,
)
from components.ui.mask_tools import MaskToolHandlers, MaskTools, build_mask_tools, wire_mask_tools
from components.ui.serving import fresh_path, servable
from components.ui.status import check_pill, money, pill, seconds, status_line
from components.ui.takes import (
    changes, take_count, take_labels, take_name, takes_gallery, takes_problem, takes_status, takes_table,
)

# The page names each click on Run with a ticket (made at the click, see ui/page.js); Cancel sends
# the same ticket, so it reaches the click even before the run exists. Without the page's script,
# the run makes its own.
NEW_TICKET_JS = ("(...args) => { if (!window.__gptTicketsByClick) window.__gptRunTicket = String(Math.random()).slice(2)"
                 " + String(Date.now()); args[0] = window.__gptRunTicket; return args; }")
LAST_TICKET_JS = "(...args) => { args[0] = window.__gptRunTicket || ''; return args; }"


@dataclass
class EditTab:
    form: Form
    run_button: gr.Button
    cancel: gr.Button
    status: gr.Markdown
    input_view: gr.Image
    result_view: gr.Image
    download: gr.DownloadButton
    download_raw: gr.DownloadButton
    metrics: gr.Markdown
    count: gr.Markdown
    preview: gr.Image
    mask_info: gr.Markdown
    mask_refresh: gr.Button
    cost: gr.Markdown
    ticket: gr.Textbox
    session_spend: gr.State
    current_run: gr.State
    model_card: gr.Markdown
    mask_note: gr.Markdown
    custom_size: gr.Row
    size_check: gr.Markdown
    switch_model: gr.Button
    retired_model: gr.State
    tools: MaskTools
    takes: gr.Number
    takes_table: gr.Markdown
    takes_gallery: gr.Gallery
    take_ids: gr.State         # the gallery's run ids, in its order
    continue_take: gr.Button
    continue_result: gr.Button
    continue_note: gr.Markdown
    result_run: gr.State       # the run whose image is shown as the result: what Continue continues from
    parent: gr.State           # the run the photo came from, when it was continued from one: the next run's parent

    @property
    def inspected(self) -> list[gr.components.Component]:
        return [self.count, self.preview, self.mask_info]

    @property
    def run_extras(self) -> dict[str, gr.components.Component]:
        """What a run reads besides the form and the mask tools, by name (after them: /run_ui's order)."""
        return {"takes": self.takes, "parent": self.parent}

    @property
    def continued(self) -> list[gr.components.Component]:
        """What continuing from a result changes on this tab, in `EditHandlers.continue_from`'s order."""
        return [self.form.photo, self.form.editor, self.input_view, self.form.mask_file, self.parent, self.status,
                *self.inspected]


# Pure functions behind the widgets ------------------------------------------------------


def metrics_text(result: EditResult, total: float | None, session_spend: float,
                 outside_mask: str | None = None) -> str:
    """The run's numbers; `outside_mask` says what the image holds outside the mask, when it was kept."""
    m = result.metrics
    rows = [
        ("Server inference time", seconds(m.inference_time)),
        ("Server queue time", seconds(m.queue_time)),
        ("Server total time (submit to end)", seconds(m.total_time)),
        ("Total time (from the click: upload, queue, polling, download)", seconds(total)),
        ("Cost of this run", money(m.cost)),
        ("Remaining credits", money(m.remaining_credits)),
        ("Spent this session", money(session_spend)),
        ("Output", f"{result.width}×{result.height} {result.media_type}, {len(result.image) / 1024:,.0f} KB"),
    ]
    if outside_mask:
        rows.append(("Outside the mask", outside_mask))
    return "\n".join(["| Measure | Value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def inspect_inputs(values: dict[str, Any]) -> tuple[str, Image.Image | None, str]:
    """The image count, the mask preview and a line about the mask, for what the form holds now.

    A painted mask is shown at the working copy's size: the preview is for the eye, and the
    share of the image it opens is the same at any scale.
    """
    images = UiImages.read(values)
    model = chosen_model(values)
    mask = images.mask
    if images.mask_file:
        try:
            with open_bounded(images.mask_file, "The uploaded mask") as opened:
                mask = opened.copy()
        except InputError as exc:
            return images.count_text(model), None, str(exc)
        except OSError:
            return images.count_text(model), None, "The uploaded mask is not a readable image."
        source = copy.MASK_FROM_FILE.format(size=f"{mask.width}×{mask.height}")
    elif model.takes_mask:
        source = copy.MASK_FROM_PAINTING
    else:
        source = copy.YOUR_PAINTING
    if mask is None:
        return images.count_text(model), None, "No mask: nothing painted, so the whole image may change."
    info = source
    if mask.mode in ("RGBA", "LA"):
        info += f", {edit_fraction(mask):.1%} of the image open to edit."
    small = mask.copy()
    small.thumbnail((512, 512), Image.Resampling.NEAREST)
    keep = keep_outside_from(values.get("keep_outside_mask"), values.get("feather"))
    if not model.takes_mask:
        info += (copy.PAINT_KEPT_BY_APP if keep is not None else copy.PAINT_NOT_SENT).format(model=model.label)
    if keep is not None:
        info += copy.KEEPS_OUTSIDE
        if keep.feather:
            # The feather is in the photo's pixels; an uploaded mask is at the photo's size, paint is not.
            photo = mask.size
            if images.photo and not images.mask_file:
                try:
                    photo = shown_size(images.photo)
                except InputError:
                    pass  # the photo's own problem is told where the photo is
            small = feather_preview(small, keep.feather * small.width / photo[0])
            info += copy.FEATHER_SHOWN.format(feather=keep.feather)
    return images.count_text(model), mask_preview(small), info


def retired_updates(tab: EditTab, model: str, retired: RetiredModels) -> dict[Any, Any]:
    """The status line and the switch button after a 410 for `model`."""
    successor = retired.replacement(model)
    if successor is None:
        return {tab.status: f"{pill(RunStatus.FAILED)} {copy.RETIRED_NO_SUCCESSOR.format(model=model)}"}
    label = schema.model(successor).label
    return {tab.status: f"{pill(RunStatus.FAILED)} {copy.RETIRED_RUN.format(model=model, successor=successor)}",
            tab.switch_model: gr.update(visible=True, value=copy.SWITCH_TO.format(label=label)),
            tab.retired_model: model}


def result_updates(tab: EditTab, run: Run, update: RunUpdate, spend: float) -> dict[Any, Any]:
    """The result (laid over the photo through the mask, when asked and made), its downloads and numbers.

    When the original could not be kept outside the mask, a toast says why; the model's output is shown.
    """
    record = run.record
    outside = None
    if run.composite_path:
        outside = copy.KEPT_OUTSIDE.format(feather=record.keep_outside_feather or 0)
    elif record.composite_note:
        outside = record.composite_note
        gr.Warning(record.composite_note, title=copy.NOT_KEPT_TITLE)
    shown = servable(run.shown_path)
    raw = gr.update(value=servable(run.result_path), visible=True) if run.composite_path else gr.update(visible=False)
    return {tab.result_view: shown, tab.download: gr.update(value=shown, visible=True), tab.download_raw: raw,
            tab.metrics: metrics_text(update.result, update.elapsed, spend, outside), tab.session_spend: spend,
            tab.result_run: run.run_id, tab.continue_result: gr.update(visible=True),
            tab.continue_note: gr.update(value=continue_note(bool(run.composite_path)), visible=True)}


def shown_result(tab: EditTab, run_id: str, image: str, raw: str | None) -> dict[Any, Any]:
    """A picked take as the result: its image and downloads (the raw output too, when it differs)."""
    return {tab.result_view: image, tab.download: gr.update(value=image, visible=True),
            tab.download_raw: gr.update(value=raw, visible=True) if raw else gr.update(visible=False),
            tab.metrics: "", tab.result_run: run_id}


def run_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the form and the Takes box, by the input it belongs to."""
    messages = form_problems(values)
    problem = takes_problem(values.get("takes", 1))
    if problem:
        messages["takes"] = [problem]
    return messages


def cancel_message(outcome: CancelOutcome, request_id: str | None) -> str:
    if outcome is CancelOutcome.SUBMITTED and request_id:
        return f"{pill(RunStatus.STOPPED)} {copy.cancelled_after_submit(request_id)}"
    if outcome is CancelOutcome.SUBMIT_IN_FLIGHT:
        return f"{pill(RunStatus.STOPPED)} {copy.CANCELLED_IN_FLIGHT}"
    return f"{pill(RunStatus.STOPPED)} {copy.CANCELLED_BEFORE_SUBMIT}"


# Behaviour ----------------------------------------------------------------------------


class EditHandlers:
    def __init__(self, service: EditService, history: HistoryStore, tab: EditTab, owner: gr.BrowserState) -> None:
        self.service = service
        self.history = history
        self.tab = tab
        self.owner = owner  # an output too: a first run may have to create this browser's id
        self.tools = MaskToolHandlers(service, inspect_inputs)

    def load_photo(self, photo: Any, **values: Any) -> tuple[Any, ...]:
        """A new photo: its working copy goes into the editor (the photo itself stays here).

        A file that is not an image is refused at once, with the reason, and cleared.
        A new photo is nobody's result: the next run continues from no earlier one.
        """
        paths = file_paths(photo)
        values = {**values, "photo": paths[0] if paths else None, "editor": None}
        if not paths:
            return (None, None, None, "", *inspect_inputs(values))
        try:
            working = make_working_copy(paths[0], fresh_path("working-copy"), copy.PHOTO_LABEL)
        except InputError as exc:
            gr.Warning(f"{str(exc).rstrip('.')}. Choose a JPEG, PNG or WebP photo.", title="Not an image")
            return (None, None, None, "", *inspect_inputs({**values, "photo": None}))
        editor = {"background": str(working.path), "layers": [], "composite": None}
        return (gr.update(), editor, str(working.path), "", *inspect_inputs(values))

    def inspect(self, **values: Any) -> tuple[str, Image.Image | None, str]:
        return inspect_inputs(values)

    def validate(self, ticket: str, owner_id: Any, session_spend: float, **values: Any) -> list[dict]:
        """Marks each widget with what is wrong with it (Gradio's validator); the first three are the extras."""
        messages = run_problems(values)
        return [gr.validate(True, "")] * 3 + [
            gr.validate(name not in messages, "; ".join(messages.get(name, [])))
            for name in [*self.tab.form.kwargs, *self.tab.tools.run_inputs, *self.tab.run_extras]]

    def summarize(self, **values: Any) -> tuple[Any, str]:
        """Says near the Run button why nothing started (the validator only marks the widgets)."""
        # The summary reads no painting (see `wire_edit_tab`), so it cannot tell whether the mask that keeping
        # the original needs is there: the validator, which reads the painting, marks that one.
        messages = {name: [m for m in found if m != KEEP_OUTSIDE_NEEDS_MASK]
                    for name, found in run_problems(values).items()}
        messages = {name: found for name, found in messages.items() if found}
        if not messages:
            # Said at once: the run's own first word waits for the page to export the painting and send the
            # form (seconds on a phone), and until then the status line would still say the last run's word.
            # "" for the current run: a fresh click, Cancel must not name the previous run.
            return f"{pill(RunStatus.PREPARING)} {copy.SENDING_FORM}", ""
        return f"{check_pill()} Nothing was sent. Fix the marked fields: {problem_summary(messages)}", ""

    async def run(self, ticket: str, owner_token: str | None, session_spend: float, request: gr.Request,
                  profile: gr.OAuthProfile | None = None, **values: Any) -> AsyncIterator[dict]:
        """One run, or (Takes above 1) the same edit several times; the next run's parent is `values["parent"]`,
        the run the photo was continued from."""
        tab = self.tab
        owner = ensure_owner(self.service, owner_token, profile)
        ticket = (ticket or "").strip()[:80] or None
        if ticket:
            self.service.tickets.clicked(ticket)  # the clock starts at the click
        key = visitor_key_from(request, values["visitor_key"])
        if self.service.tickets.is_cancelled(ticket):  # Cancel came first: say so, and start nothing
            yield {tab.status: cancel_message(CancelOutcome.NOT_SUBMITTED, None)}
            return
        count = take_count(values.get("takes", 1))
        # No status word here: the summary said it at the click (see `summarize`), and a word sent now could reach
        # the page after a Cancel clicked meanwhile and make it look as if the run went on.
        yield {tab.download: gr.update(visible=False), tab.download_raw: gr.update(visible=False), tab.metrics: "",
               tab.result_view: None,
               tab.switch_model: gr.update(visible=False),
               tab.result_run: "", tab.continue_result: gr.update(visible=False),
               tab.continue_note: gr.update(visible=False),
               tab.takes_table: gr.update(value="", visible=count > 1),
               tab.takes_gallery: gr.update(value=[], visible=count > 1), tab.take_ids: [],
               tab.continue_take: gr.update(value=copy.CONTINUE_PICK, interactive=False, visible=count > 1)}
        try:
            runs = await asyncio.to_thread(
                self.service.start_takes, form_request(values), take_labels(count), owner=owner.id,
                visitor_key=key, deadline=float(values["deadline"]), ticket=ticket,
                address=client_address(self.service, request), signed_in=owner.signed_in,
                parent=values.get("parent") or None)
        except Exception as exc:  # noqa: BLE001 - shown as a toast, never a traceback
            if self.service.tickets.is_cancelled(ticket):
                yield {tab.status: cancel_message(CancelOutcome.NOT_SUBMITTED, None)}
                return
            if isinstance(exc, refusals.Refusal):
                raise gr.Error(copy.takes_refusal(exc, count), title=title_for(exc), print_exception=False) from None
            raise as_gr_error(exc) from None
        if count > 1:
            async for out in self.follow_takes(runs, session_spend):
                yield {**out, self.owner: owner.token}
            return
        (run,) = runs
        yield {tab.current_run: run.run_id, self.owner: owner.token}
        try:
            async for update in run.subscribe():
                if update.status in (RunStatus.STOPPED, RunStatus.FAILED):
                    continue  # the error that follows says what happened, in words (a bare pill would race Cancel's)
                if update.result is None and self.service.tickets.is_cancelled(ticket):
                    continue  # Cancel has said what it did; a word from before it reached the page would undo that
                if update.notes:
                    gr.Warning(" ".join(update.notes), title="Inputs adjusted")
                out: dict[Any, Any] = {tab.status: status_line(update, run.record.backend, run.record.model)}
                if update.result is not None and run.result_path:
                    spend = session_spend + (update.result.metrics.cost or 0.0)
                    out.update(result_updates(tab, run, update, spend))
                yield out
        except errors.PollingStoppedError as exc:
            yield {tab.status: f"{pill(RunStatus.STOPPED)} {copy.error_message(exc)}"}
        except errors.ModelRetiredError as exc:
            # Not a toast: the way on is a button, right under the status line.
            yield retired_updates(tab, exc.model or run.record.model, self.service.retired)
        except Exception as exc:  # noqa: BLE001 - shown in the status line, then as a toast
            where = f" · request `{exc.request_id}`" if getattr(exc, "request_id", None) else ""
            yield {tab.status: f"{pill(RunStatus.FAILED)}{where} — {copy.error_message(exc)}"}
            raise as_gr_error(exc, "Run failed") from None

    async def follow_takes(self, runs: list[Run], session_spend: float) -> AsyncIterator[dict]:
        """Every take in one table and one status line, and each in the gallery once it has finished.

        Once Cancel has stopped them, the status line keeps what Cancel said (whether anything may be
        billed); the table goes on showing each take's state.
        """
        tab = self.tab
        shown: dict[str, str] = {}
        in_gallery: list[str] = []
        yield {tab.current_run: runs[0].run_id, tab.status: takes_status(runs), tab.takes_table: takes_table(runs)}
        async for _ in changes(runs):
            out: dict[Any, Any] = {tab.takes_table: takes_table(runs)}
            if not any(run.stopping for run in runs):
                out[tab.status] = takes_status(runs)
            items, ids = takes_gallery(runs, shown)
            if ids != in_gallery:
                in_gallery = ids
                spend = session_spend + sum(run.record.cost or 0.0 for run in runs if run.run_id in ids)
                out.update({tab.takes_gallery: items, tab.take_ids: ids, tab.session_spend: spend})
            yield out
        retired = [run.error for run in runs if isinstance(run.error, errors.ModelRetiredError)]
        if retired and not in_gallery:
            yield retired_updates(tab, retired[0].model or runs[0].record.model, self.service.retired)

    def pick_take(self, owner_token: object, ids: list[str], event: gr.SelectData,
                  profile: gr.OAuthProfile | None = None) -> dict[Any, Any]:
        """A take clicked in the gallery: shown as the result, and the one Continue continues from."""
        tab = self.tab
        run_id = selected_run(event, ids)
        record = self.owned(owner_token, run_id, profile)
        path = self.history.path(record, record.continued_image) if record is not None else None
        if record is None or path is None:
            return {tab.continue_take: gr.update(value=copy.CONTINUE_PICK, interactive=False)}
        take = take_name(ids.index(run_id) + 1)
        image = servable(path)
        raw = servable(self.history.path(record, record.result)) if record.composite else None
        return {**shown_result(tab, run_id, image, raw),
                tab.status: f"{pill(record.status)} {copy.TAKE_CHOSEN.format(take=take)}",
                tab.continue_take: gr.update(value=copy.CONTINUE_TAKE.format(take=take.lower()), interactive=True),
                tab.continue_note: gr.update(value=continue_note(bool(record.composite)), visible=True)}

    def owned(self, owner_token: object, run_id: object,
              profile: gr.OAuthProfile | None = None) -> RunRecord | None:
        """The run, only when it is the caller's (this browser's, or the signed-in account's)."""
        return self.history.owned(run_id, valid_owner(self.service, owner_token, profile))

    def continue_from(self, owner_token: object, run_id: str, profile: gr.OAuthProfile | None = None,
                      **values: Any) -> tuple[Any, ...]:
        """The shown result (or picked take) becomes the photo being edited, with nothing painted; the prompt
        and settings stay, and the next run records this one as its parent. In `EditTab.continued`'s order."""
        record = self.owned(owner_token, run_id, profile)
        continued = continued_from(self.history, record)
        name = record.label or copy.CONTINUE_THIS_RESULT
        shown = {**values, "photo": continued.photo, "editor": None, "mask_file": None}
        return (continued.photo, continued.editor, continued.working, None, continued.run_id,
                f"{pill(RunStatus.NEW)} {continued.said(name)}", *inspect_inputs(shown))

    def switch_model(self, retired: str) -> tuple[Any, Any, str]:
        """The one click after a 410: the picker on the successor; the rest of the form stays as it is."""
        successor = self.service.retired.replacement(retired)
        if successor is None:
            return gr.update(), gr.update(visible=False), copy.RETIRED_NO_SUCCESSOR.format(model=retired)
        return (gr.update(value=successor), gr.update(visible=False),
                f"{pill(RunStatus.NEW)} {copy.SWITCHED.format(model=successor)}")

    def start_model(self) -> tuple[Any, str, Any]:
        """A new page: the deployer's model, unless Segmind has retired it (then its successor, and why)."""
        default = self.service.backend.settings.model
        retired = self.service.retired
        successor = retired.replacement(default) if default in retired else None
        if successor is None:
            return gr.update(), model_card(default, self.service.today()), gr.update(visible=False)
        return (gr.update(value=successor), model_card(successor, self.service.today()),
                gr.update(visible=True, value=copy.RETIRED_DEFAULT.format(model=default, successor=successor)))

    def cancel(self, ticket: str, run_id: str, owner_token: object, profile: gr.OAuthProfile | None = None) -> str:
        """Stop the last click on Run, and say what that did: nothing sent, or sent and maybe billed."""
        ticket = (ticket or "").strip()[:80]
        if ticket:
            cancelled = self.service.cancel(ticket)
            return cancel_message(cancelled.outcome, cancelled.request_id)
        # A page without tickets (its script did not load): stop this browser's latest run.
        run = self.service.get(run_id) if run_id else None
        owner = self.service.owners.owner_of(owner_token, Account.from_profile(profile))
        if run is None and owner is not None:
            live = self.service.live(owner)
            run = live[-1] if live else None
        if run is None:
            return cancel_message(CancelOutcome.NOT_SUBMITTED, None)
        cancelled = self.service.cancel_run(run)
        return cancel_message(cancelled.outcome, cancelled.request_id)


# Layout -------------------------------------------------------------------------------


def build_edit_tab(backend: Backend, offered: tuple[str, ...] | None = None, today: date | None = None) -> EditTab:
    """The Edit tab's widgets, inside the caller's `gr.Tab`.

    The left column is the loop a person goes round (photo, paint, prompt, Run, result), so
    on a phone, where the columns stack, Run and its status sit right under the editor.
    `offered` are the picker's models (default: every model in the registry); `today` dates their shutdowns.
    """
    offered = offered or tuple(schema.MODELS)
    default = schema.model(backend.settings.model if backend.settings.model in offered else offered[0])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_id="loop-column"):
            photo = gr.File(label=copy.PHOTO_LABEL, file_types=["image"], file_count="single", elem_id="photo",
                            height=96)
            gr.Markdown(f"**{copy.EDITOR_LABEL}**", elem_id="editor-heading")
            editor = bound_editor(gr.ImageEditor(
                label=copy.EDITOR_LABEL, show_label=False, type="pil", image_mode="RGBA", sources=(), transforms=(),
                brush=gr.Brush(colors=["#ff00aa"], color_mode="fixed", default_size=BRUSH_SIZE),
                eraser=gr.Eraser(default_size=BRUSH_SIZE), layers=False, interactive=True, elem_id="editor",
                height=520, placeholder="Upload a photo above, then paint here.",
            ))
            gr.Markdown(copy.MASK_HELP, elem_id="mask-help")
            mask_note = gr.Markdown(mask_note_for(default), elem_id="mask-note")
            tools = build_mask_tools()
            prompt = gr.Textbox(label="3 · Prompt", lines=3, elem_id="prompt",
                                info=default.params_by_name["prompt"].help,
                                placeholder="e.g. Replace the painted area with a bowl of ripe oranges")
            prompt_count = gr.Markdown(f"0 / {schema.MAX_PROMPT_CHARS:,} characters", elem_id="prompt-count")
            with gr.Row(equal_height=True, elem_id="run-row"):
                # No minimum or maximum: Gradio would refuse a value outside them with a bare toast before the
                # validator could mark the box in words.
                takes = gr.Number(1, label=copy.TAKES_LABEL, precision=0, step=1, elem_id="takes", scale=0,
                                  min_width=90)
                run_button = gr.Button("Run", variant="primary", elem_id="run", min_width=100)
                cancel = gr.Button("Cancel", variant="stop", elem_id="cancel", min_width=100)
            status = gr.Markdown("Ready.", elem_id="status")
            switch_model = gr.Button(visible=False, variant="primary", elem_id="switch-model")
            # Several takes: right under the status line, so on a phone they are in view as they come.
            takes_status_table = gr.Markdown(visible=False, elem_id="takes-status")
            takes_gallery = gr.Gallery(label=copy.TAKES_GALLERY, columns=4, height=240, visible=False,
                                       allow_preview=False, object_fit="contain", elem_id="takes-gallery")
            continue_take = gr.Button(copy.CONTINUE_PICK, visible=False, interactive=False, variant="primary",
                                      elem_id="continue-take")
            with gr.Row():
                input_view = gr.Image(label="Input", type="filepath", interactive=False, height=360,
                                      elem_id="input-view")
                result_view = gr.Image(label="Result", type="filepath", interactive=False, height=360,
                                       elem_id="result", buttons=["download", "fullscreen"])
            # One above the other: beside the button, the table is squeezed to a sliver on a phone.
            download = gr.DownloadButton("Download result", visible=False, elem_id="download")
            download_raw = gr.DownloadButton(copy.RAW_DOWNLOAD, visible=False, elem_id="download-raw")
            continue_result = gr.Button(copy.CONTINUE_RESULT, visible=False, elem_id="continue-result")
            continue_hint = gr.Markdown(visible=False, elem_id="continue-note")
            metrics = gr.Markdown(elem_id="metrics")
            with gr.Accordion("Mask that will be sent", open=True):
                with gr.Row():
                    preview = gr.Image(label="Mask preview (checkerboard = area to edit)", type="pil",
                                       interactive=False, height=220, elem_id="mask-preview", show_label=False,
                                       buttons=[])
                    with gr.Column():
                        mask_info = gr.Markdown("No mask: nothing painted.", elem_id="mask-info")
                        mask_refresh = gr.Button("Refresh the preview", size="sm", elem_id="mask-refresh")
                        mask_file = gr.File(label="Or upload a mask PNG (used instead of painting)",
                                            file_types=[".png"], elem_id="mask-file", height=96)
            with gr.Accordion("More reference images", open=False):
                files = gr.File(label=copy.REFERENCES_LABEL,
                                file_count="multiple", file_types=["image"], allow_reordering=True,
                                elem_id="references")
                urls = gr.Textbox(label="Reference image URLs, one per line (http or https)", lines=2,
                                  elem_id="reference-urls")
            count = gr.Markdown(EMPTY_COUNT, elem_id="image-count")

        with gr.Column(scale=2, elem_id="settings-column"):
            model = gr.Dropdown(model_choices(offered, today), value=default.slug, label=copy.MODEL_LABEL,
                                info=copy.MODEL_INFO, elem_id="model")
            card = gr.Markdown(model_card(default.slug, today), elem_id="model-card")
            widgets: dict[str, gr.components.Component] = {}
            for name in schema.ALL_OPTION_NAMES:
                param = default.params_by_name[name]
                if name == "size":
                    # Custom values too: a program may send WIDTHxHEIGHT to /edit (the schema judges it).
                    widgets[name] = gr.Dropdown(size_choices(default), value=param.default, label=param.label,
                                                info=param.help, elem_id="opt-size", allow_custom_value=True)
                    with gr.Row(visible=False, elem_id="custom-size") as custom_size:
                        width = gr.Number(2048, label=copy.CUSTOM_WIDTH, precision=0, step=16, minimum=16,
                                          elem_id="custom-width")
                        height = gr.Number(1152, label=copy.CUSTOM_HEIGHT, precision=0, step=16, minimum=16,
                                           elem_id="custom-height")
                    checked = gr.Markdown(elem_id="size-check")
                elif param.choices:
                    widgets[name] = gr.Radio(list(param.choices), value=param.default, label=param.label,
                                             info=param.help, elem_id=f"opt-{name}")
                else:
                    # The widest range any model takes: Gradio refuses values outside a slider's own range
                    # before the schema can judge them, and /edit reads this slider for every model.
                    widest = [m.params_by_name[name] for m in schema.MODELS.values()]
                    widgets[name] = gr.Slider(
                        min(p.minimum for p in widest), max(p.maximum for p in widest), value=param.default, step=1,
                        label=param.label,
                        info=param.help, elem_id=f"opt-{name}",
                        interactive=schema.compression_applies(default.params_by_name["output_format"].default))
            cost = gr.Markdown(estimate(default.slug, default.params_by_name["quality"].default,
                                        default.params_by_name["size"].default), elem_id="cost-estimate")
            with gr.Accordion(copy.KEY_ACCORDION, open=False):
                key = gr.Textbox(label="Your Segmind API key", type="password", value="",
                                 visible=backend.allow_visitor_keys, elem_id="visitor-key",
                                 info="Used for your runs only; it stays in this browser tab and is never "
                                      "stored, logged or shown back.")
                deadline = gr.Number(backend.settings.deadline, label="Deadline (seconds)", minimum=5,
                                     maximum=3600, precision=0, elem_id="deadline",
                                     info="Stop following a job after this long (it may still finish).")
    ticket = gr.Textbox(visible=False, elem_id="run-ticket")

    prompt.change(None, prompt, prompt_count,
                  js=f"(p) => `${{p.length.toLocaleString()}} / {schema.MAX_PROMPT_CHARS:,} characters`"
                     f" + (p.length > {schema.MAX_PROMPT_CHARS} ? ' — too long' : '')")
    form = Form(prompt, photo, editor, files, urls, mask_file, widgets, deadline, key, model, width, height)
    return EditTab(form, run_button, cancel, status, input_view, result_view, download, download_raw, metrics, count,
                   preview, mask_info, mask_refresh, cost, ticket, gr.State(0.0), gr.State(""), card, mask_note,
                   custom_size, checked, switch_model, gr.State(""), tools, takes, takes_status_table, takes_gallery,
                   gr.State([]), continue_take, continue_result, continue_hint, gr.State(""), gr.State(""))


# Wiring -------------------------------------------------------------------------------


def price_line(slug: str, quality: str, size: str, width: Any, height: Any, takes: Any, photo: Any,
               files: Any) -> str:
    """The Edit tab's price line: `auto` is priced at the size the first image's shape picks, that image's
    size read from its header (once per file)."""
    first = first_image_size({"photo": photo, "files": files})
    return estimate(slug, quality, size, width, height, takes, first=first)


def follow_the_model(listener: Callable[..., Any], tab: EditTab) -> None:
    """Wire `listener` (a change, or a load's `then`) to fit every model-dependent widget to the picker."""
    form, widgets = tab.form, tab.form.widgets
    followers = {"card": tab.model_card, "size": widgets["size"], "output_compression": widgets["output_compression"],
                 "background": widgets["background"], "quality": widgets["quality"], "files": form.files,
                 "urls": form.urls, "mask_note": tab.mask_note}

    def follow(slug: str, size: str, compression: Any) -> dict[Any, Any]:
        return {followers[name]: update for name, update in follow_model(slug, size, compression).items()}

    listener(follow, [form.model, widgets["size"], widgets["output_compression"]], list(followers.values()),
             queue=False, api_visibility="private")


def wire_edit_tab(tab: EditTab, handlers: EditHandlers, owner: gr.BrowserState, concurrency: dict[str, Any],
                  examples: gr.Examples | None) -> None:
    form, widgets = tab.form, tab.form.widgets
    quiet = {"queue": False, "api_visibility": "private"}

    # The model picker: every widget that depends on the model follows it, keeping what still fits.
    follow_the_model(form.model.change, tab)
    size_inputs = [form.model, widgets["size"], form.custom_width, form.custom_height]
    gr.on([form.model.change, widgets["size"].change, form.custom_width.change, form.custom_height.change],
          size_check, size_inputs, tab.size_check, **quiet)
    widgets["size"].change(lambda size: gr.update(visible=size == CUSTOM_SIZE), widgets["size"], tab.custom_size,
                           **quiet)
    # The photo and the references too: size `auto` follows the first image's shape.
    gr.on([form.model.change, widgets["quality"].change, widgets["size"].change, form.custom_width.change,
           form.custom_height.change, tab.takes.change, form.photo.change, form.files.change], price_line,
          [form.model, widgets["quality"], *size_inputs[1:], tab.takes, form.photo, form.files], tab.cost, **quiet)
    tab.switch_model.click(handlers.switch_model, tab.retired_model, [form.model, tab.switch_model, tab.status],
                           **quiet)
    widgets["output_format"].change(lambda fmt: gr.update(interactive=schema.compression_applies(fmt)),
                                    widgets["output_format"], widgets["output_compression"], **quiet)

    # The photo: uploaded once; its working copy goes to the editor. No listener reads the editor on
    # every stroke (that would re-upload its images); the page asks for a preview on mouse-up instead.
    photo_kwargs = {k: v for k, v in form.image_kwargs.items() if k not in ("photo", "editor")}
    photo_outputs = [form.photo, form.editor, tab.input_view, tab.parent, *tab.inspected]
    # Queued: a refused photo says why in a toast, which Gradio delivers only to queued events.
    for trigger in (form.photo.upload, form.photo.clear):
        trigger(handlers.load_photo, inputs=[form.photo], inputs_kwargs=photo_kwargs, outputs=photo_outputs,
                show_progress="hidden", api_visibility="private")
    if examples is not None:
        examples.load_input_event.then(handlers.load_photo, inputs=[form.photo], inputs_kwargs=photo_kwargs,
                                       outputs=photo_outputs, show_progress="hidden", api_visibility="private")
    inspected_inputs = {**form.image_kwargs, **tab.tools.run_inputs}
    for trigger in (tab.mask_refresh.click, form.files.change, form.urls.change, form.mask_file.change,
                    form.model.change, tab.tools.keep_outside.change, tab.tools.feather.input):
        trigger(handlers.inspect, inputs_kwargs=inspected_inputs, outputs=tab.inspected, show_progress="hidden",
                show_progress_on=[tab.mask_info], trigger_mode="always_last", **quiet)
    wire_mask_tools(tab.tools, handlers.tools, form, tab.input_view, tab.inspected, owner)

    # Registered first: the frontend skips a click's later listeners once a validator fails. It reads
    # everything but the editor: reading the editor makes the page export its canvas, which the run's
    # own read does already, and a painted mask cannot be wrong in a way only it would catch.
    summary_inputs = {name: widget for name, widget in form.kwargs.items() if name != "editor"}
    summary_inputs["takes"] = tab.takes
    tab.run_button.click(handlers.summarize, inputs_kwargs=summary_inputs, outputs=[tab.status, tab.current_run],
                         show_progress="hidden", **quiet)
    tab.run_button.click(
        handlers.run, inputs=[tab.ticket, owner, tab.session_spend],
        # Last: the UI's own event keeps its earlier order (then the number of takes; the parent is session state).
        inputs_kwargs={**form.kwargs, **tab.tools.run_inputs, **tab.run_extras},
        outputs=[tab.status, tab.result_view, tab.download, tab.download_raw, tab.metrics, tab.session_spend,
                 tab.current_run, owner, tab.switch_model, tab.retired_model, tab.result_run, tab.continue_result,
                 tab.continue_note, tab.takes_table, tab.takes_gallery, tab.take_ids, tab.continue_take],
        validator=handlers.validate, js=NEW_TICKET_JS, api_name="run_ui", api_visibility="undocumented",
        show_progress="minimal", **concurrency,
    )
    # Cancel does not cancel the run's event: the run itself then ends its stream with what really
    # happened (nothing sent, or stopped and maybe billed), after anything it said before.
    tab.cancel.click(handlers.cancel, [tab.ticket, tab.current_run, owner], tab.status, js=LAST_TICKET_JS,
                     **quiet)

    # Continuing: a take picked in the gallery is shown as the result; either button makes the shown result the
    # photo being edited. Queued, so a run no longer kept says why in a toast.
    tab.takes_gallery.select(handlers.pick_take, [owner, tab.take_ids],
                             [tab.result_run, tab.result_view, tab.download, tab.download_raw, tab.metrics, tab.status,
                              tab.continue_take, tab.continue_note], show_progress="hidden", api_visibility="private")
    continue_values = {name: form.kwargs[name] for name in ("files", "urls", "model")} | tab.tools.run_inputs
    for button in (tab.continue_result, tab.continue_take):
        button.click(handlers.continue_from, [owner, tab.result_run], tab.continued, inputs_kwargs=continue_values,
                     show_progress="hidden", api_name="continue_edit", api_visibility="private")
