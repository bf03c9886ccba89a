"""The History tab: every run from this browser, its details, restore, zips, compare and resume."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import gradio as gr

from components.api import errors, schema
from components.app.history import HistoryStore, RunRecord
from components.app.service import EditService
from components.app.status import RunStatus
from components.media.compare import save_pair
from components.media.mask import paint_layer_from_mask
from components.media.working_copy import make_working_copy
from components.ui import copy
from components.ui.continuing import continued_from
from components.ui.errors import in_thread
from components.ui.models import CUSTOM_SIZE
from components.ui.form import Form, client_address, signed_in, valid_owner, visitor_key_from
from components.ui.serving import TooLargeToServe, fresh_path, servable, servable_unchanging
from components.ui.status import STATUS_STYLE, backend_label, label, money, pill, seconds

# The tab is refreshed by a timer, not pushed to: see `wire_history_tab`.
REFRESH_SECONDS = 2.0
# What a zip adds to each file: its local and central headers with the name, and room for zip64 fields.
ZIP_ENTRY_OVERHEAD = 512
# The compare box's tallest: the slider scales the pair (one canvas, see media/compare.py) to fit it whole.
COMPARE_MAX_HEIGHT = 360
# The compare choices a run's chain of versions adds: the version it continued from, and the original photo.
PARENT, ORIGINAL = "parent", "original"
LINEAGE_BASES = (PARENT, ORIGINAL)


@dataclass(frozen=True)
class Shown:
    """What a page's History tab shows, as much as a refresh needs to know to change nothing when nothing changed."""
    owner: str
    runs: int        # the owner's runs as of the gallery shown: `HistoryStore.version`
    running: str     # the running list's text


def caption(record: RunRecord) -> str:
    name = record.label or (record.prompt[:32] + ("…" if len(record.prompt) > 32 else ""))
    state = "" if record.status is RunStatus.COMPLETED else f"{record.status.value} · "
    # A label from a grid that varied the model names it already ("quality=low, model=gpt-image-2").
    named = any(part.startswith(f"model={record.model}") for part in record.label.split(", "))
    model = "" if named else f"{record.model} · "
    return f"{name} · {model}{state}{seconds(record.total_time)} · {money(record.cost)}"


def megabytes(size: int) -> str:
    return f"{size / 1024**2:.1f}".removesuffix(".0") + " MB"


def record_details(record: RunRecord) -> str:
    timeline = " → ".join(f"{s['state']} ({s['at'][11:19]})" for s in record.states) or "—"
    options = ", ".join(f"`{k}={v}`" for k, v in record.options.items()) or "—"
    inputs = ", ".join(f"`{i}`" for i in record.inputs) or "—"
    lines = [
        f"**{record.label or 'Run'}** · {pill(record.status)} · {backend_label(record.backend)} · "
        f"started {record.created_at[:19].replace('T', ' ')} UTC",
        f"- Model: `{record.model}`",
        f"- Prompt: {record.prompt}",
        f"- Settings: {options}",
        f"- Inputs: {inputs}" + (f"; mask `{record.mask}`" if record.mask else ""),
        f"- Request id: `{record.request_id or '—'}` · states: {timeline}",
        f"- Inference {seconds(record.inference_time)} · total {seconds(record.total_time)} · "
        f"cost {money(record.cost)} · remaining credits {money(record.remaining_credits)}",
    ]
    if record.composite:
        lines.append(copy.RECORD_COMPOSITE.format(feather=record.keep_outside_feather or 0,
                                                  composite=record.composite, result=record.result))
    elif record.composite_note:
        lines.append(copy.RECORD_NO_COMPOSITE.format(note=record.composite_note))
    if record.notes:
        lines.append(f"- Changed to fit the model: {' '.join(record.notes)}")
    if record.error:
        lines.append(f"- Error: {record.error}")
    return "\n".join(lines)


def short_name(record: RunRecord) -> str:
    """A run in a chain of versions: its label (a take, a sweep variant) or its prompt, and when it started."""
    name = record.label or (record.prompt[:24] + ("…" if len(record.prompt) > 24 else ""))
    return f"{name} · {record.created_at[11:19]}"


def compare_slider() -> gr.ImageSlider:
    """The compare slider: no fixed height, so the whole canvas shows and both images share one box.

    A fixed `height` clips a tall pair and offsets the overlaid image from the one beneath it;
    `max_height` scales the pair down to fit instead.
    """
    return gr.ImageSlider(label="Compare (drag the slider)", type="filepath", elem_id="compare",
                          max_height=COMPARE_MAX_HEIGHT, buttons=["fullscreen"], interactive=False)


@dataclass
class HistoryTab:
    running: gr.Markdown
    gallery: gr.Gallery
    refresh: gr.Button
    zip_all: gr.Button
    details: gr.Markdown
    restore: gr.Button
    zip_one: gr.Button
    archive: gr.File
    compare_with: gr.Dropdown
    compare: gr.ImageSlider
    resume_id: gr.Textbox
    resume: gr.Button
    resume_status: gr.Markdown
    ids: gr.State          # run ids in gallery order: the gallery's index → run
    shown: gr.State        # a Shown: what this page shows, so a refresh sends only what changed
    selected: gr.Textbox
    timer: gr.Timer
    continue_from: gr.Button


class HistoryHandlers:
    def __init__(self, service: EditService, history: HistoryStore) -> None:
        self.service = service
        self.history = history

    def owned(self, owner_token: object, run_id: str, profile: gr.OAuthProfile | None = None) -> RunRecord | None:
        """The run, only when it belongs to this browser (or the account it is signed in to)."""
        return self.history.owned(run_id, valid_owner(self.service, owner_token, profile))

    def tile(self, record: RunRecord) -> str | None:
        """The run's gallery picture: its result's thumbnail, or a tile saying its status."""
        try:
            thumb = self.history.thumbnail(record)
        except (OSError, ValueError):
            thumb = None  # an unreadable result still gets a tile: the run must stay listed
        if thumb is None:
            try:
                thumb = self.history.status_tile(record, label(record.status), STATUS_STYLE[record.status][1])
            except OSError:  # no room for a tile, or the run was pruned since the list was read
                return None
        return servable_unchanging(thumb)

    def gallery_items(self, owner_id: str) -> tuple[list[tuple[str, str]], list[str]]:
        """Every run of this owner, newest first, with or without a result; and their ids in the same order."""
        shown = [(tile, record) for record in self.history.records(owner_id) if (tile := self.tile(record))]
        return [(tile, caption(record)) for tile, record in shown], [record.run_id for _, record in shown]

    def running_text(self, owner_id: str) -> str:
        runs = self.service.live(owner_id)
        if not runs:
            return copy.NO_JOBS
        rows = ["**Still running** (they go on if you close the tab):", "",
                "| Run | State | Time | Request id |", "|---|---|---|---|"]
        for run in runs:
            update = run.latest
            rows.append(f"| {run.record.label or run.record.prompt[:30]} | "
                        f"{pill(update.status if update else RunStatus.PREPARING)} | "
                        f"{seconds(update.elapsed if update else 0)} | `{run.record.request_id or '—'}` |")
        return "\n".join(rows)

    def refresh_all(self, owner_token: object, shown: Shown | None,
                    profile: gr.OAuthProfile | None = None) -> tuple[Any, Any, Any, Shown] | dict[str, Any]:
        """The running list, the gallery and its ids, each only when it changed; `gr.skip()` when nothing did.

        The timer calls this every few seconds for every open page, so an unchanged refresh does no
        per-run work and no file work: it reads the owner's version number and their live runs, which
        are few (the running list changes while runs are live: their state and elapsed time).
        """
        if not isinstance(owner_token, str) or not owner_token:
            return gr.skip()  # no owner yet (the page is still loading): nothing to show
        owner_id = valid_owner(self.service, owner_token, profile)
        runs = self.history.version(owner_id)  # before the records are read: a change in between shows next time
        running = self.running_text(owner_id)
        same_runs = shown is not None and shown.owner == owner_id and shown.runs == runs
        if same_runs and shown.running == running:
            return gr.skip()
        now = Shown(owner_id, runs, running)
        running_update = gr.skip() if shown is not None and shown.running == running else running
        if same_runs:
            return running_update, gr.skip(), gr.skip(), now
        items, ids = self.gallery_items(owner_id)
        return running_update, gr.update(value=items), ids, now

    def select(self, owner_token: str, shown: list[str], event: gr.SelectData,
               profile: gr.OAuthProfile | None = None):
        index = event.index if isinstance(event.index, int) else -1
        run_id = shown[index] if 0 <= index < len(shown) else ""
        record = self.owned(owner_token, run_id, profile)
        if record is None:
            return ("Select a run above.", "", gr.update(choices=[], value=None), None, *run_actions(None))
        others: list[tuple[str, str]] = []
        chain = self.history.lineage(record)  # walked once: the details and the compare choices both read it
        # A run's side of the compare is its image as the page showed it: the composite when it kept the original
        # outside the mask. That is also what a run continued from it started with.
        image = self.history.path(record, record.continued_image)
        if image:
            others = self.lineage_choices(chain)
            # Only a local first input can be drawn (a URL one was never fetched by this app). A continued run's
            # input is its parent's image, offered as such above.
            if not others and record.inputs and self.history.path(record, record.inputs[0]):
                others.append((f"Its input ({record.inputs[0]})", "input"))
            others += [(caption(r), r.run_id) for r in self.history.records(record.owner)
                       if r.run_id != run_id and self.history.path(r, r.continued_image)]
        first = others[0][1] if others else None
        info = copy.COMPARE_INFO if image else copy.NO_RESULT_TO_COMPARE
        return (record_details(record) + self.lineage_details(record, chain), run_id,
                gr.update(choices=others, value=first, info=info), self.compare_pair(owner_token, run_id, first, profile),
                *run_actions(record, has_image=image is not None))

    def compare_pair(self, owner_token: str, run_id: str, other: str | None,
                     profile: gr.OAuthProfile | None = None) -> tuple[str, str] | None:
        """The two images, letterboxed onto one canvas (same size and scale, each whole) for the slider."""
        record = self.owned(owner_token, run_id, profile)
        if record is None or other is None:
            return None
        result = self.history.path(record, record.continued_image)
        if other == "input":
            base = self.history.path(record, record.inputs[0]) if record.inputs else None
        elif other in LINEAGE_BASES:
            base = self.lineage_base(record, other)
        else:
            other_record = self.owned(owner_token, other, profile)
            base = self.history.path(other_record, other_record.continued_image) if other_record else None
        if base is None or result is None:
            return None
        try:
            left, right = save_pair(base, result, (fresh_path("compare-before.png"), fresh_path("compare-after.png")))
        except (OSError, ValueError):
            gr.Warning(copy.COMPARE_UNREADABLE, title="Compare")
            return None
        return str(left), str(right)

    def restore(self, owner_token: str, run_id: str, profile: gr.OAuthProfile | None = None) -> list[Any]:
        """The run back in the form, in the order of the restore outputs: model, prompt, photo, editor, input
        view, references, URLs, mask file, every option, custom width and height, deadline, the Edit tab.

        A painted mask comes back as paint on the editor's working copy, so the brush can change it.
        """
        record = self.owned(owner_token, run_id, profile)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        first = self.history.path(record, record.inputs[0]) if record.inputs else None
        mask = self.history.path(record, record.mask)
        editor, working_path = None, None
        if first is not None:
            working = make_working_copy(first, fresh_path("working-copy"))
            working_path = str(working.path)
            layers = []
            if mask is not None and record.mask_painted:
                layer = fresh_path("restored-paint.png")
                paint_layer_from_mask(str(mask), working.size).save(layer)
                layers = [str(layer)]
            editor = {"background": working_path, "layers": layers, "composite": None}
        mask_file = servable(mask) if mask is not None and not record.mask_painted else None
        return [*self.form_of(record, servable(first), editor, working_path, mask_file), gr.Tabs(selected="edit")]

    def form_of(self, record: RunRecord, photo: str | None, editor: Any, working: str | None,
                mask_file: str | None) -> list[Any]:
        """The form's values for a run, given its photo, editor value, working copy and mask file, in the order
        of the restore outputs (without the tab switch)."""
        local = [self.history.path(record, name) for name in record.inputs]
        references = [servable(p) for p in local[1:] if p]
        # A URL anywhere (even first: the photo is always a local file) goes back to the URL box.
        urls = "\n".join(name for name in record.inputs if "://" in name)
        model = schema.model_or_default(record.model)
        options = {p.name: record.options.get(p.name, p.default) for p in model.options}
        custom = schema.parse_size(options["size"]) if options["size"] not in model.pixel_sizes() else None
        if custom:  # a custom size goes back to the width and height boxes
            options["size"] = CUSTOM_SIZE
        updates = [model.slug, record.prompt, photo, editor, working, references or None, urls, mask_file]
        updates += [options[name] for name in schema.ALL_OPTION_NAMES]
        updates += [custom[0], custom[1]] if custom else [gr.update(), gr.update()]
        updates.append(record.deadline or gr.update())
        return updates

    # Lineage: the chain of versions, comparing with it, continuing from a run -----------------------------

    def lineage_details(self, record: RunRecord, chain: list[RunRecord]) -> str:
        """The lines the details add for a continued run, or one continued from: its parent, its chain of
        versions (`chain`, its lineage: original photo → … → this run) and the runs that continued from it."""
        lines = []
        if record.parent:
            lines.append(copy.RECORD_CONTINUED_FROM.format(parent=caption(chain[-2])) if len(chain) > 1
                         else copy.RECORD_PARENT_GONE)
        if len(chain) > 1:
            steps = [copy.ORIGINAL_PHOTO] + [f"v{number} ({short_name(version)})"
                                             for number, version in enumerate(chain[:-1], start=1)]
            steps.append(copy.THIS_VERSION.format(number=len(chain)))
            lines.append(copy.RECORD_VERSIONS.format(chain=" → ".join(steps)))
        children = self.history.children(record)
        if children:
            lines.append(copy.RECORD_CONTINUED_IN.format(children=", ".join(short_name(c) for c in children)))
        return "".join(f"\n{line}" for line in lines)

    def lineage_choices(self, chain: list[RunRecord]) -> list[tuple[str, str]]:
        """What a continued run (the last of its lineage `chain`) can be compared with: the version it continued
        from, and the original photo (the first version's input). Empty for a run that continued from nothing
        still kept."""
        if len(chain) < 2:
            return []
        choices = []
        parent, first = chain[-2], chain[0]
        if self.history.path(parent, parent.continued_image):
            choices.append((copy.COMPARE_PARENT.format(caption=caption(parent)), PARENT))
        if first.inputs and self.history.path(first, first.inputs[0]):
            choices.append((copy.COMPARE_ORIGINAL, ORIGINAL))
        return choices

    def lineage_base(self, record: RunRecord, which: str) -> Path | None:
        """The other side of a lineage compare: the parent's image, or the first version's input."""
        chain = self.history.lineage(record)
        if len(chain) < 2:
            return None
        if which == PARENT:
            return self.history.path(chain[-2], chain[-2].continued_image)
        first = chain[0]
        return self.history.path(first, first.inputs[0]) if first.inputs else None

    def continue_from_result(self, owner_token: str, run_id: str, profile: gr.OAuthProfile | None = None) -> list[Any]:
        """The run's image becomes the photo being edited (nothing painted), with the run's prompt, references
        and settings, and the run is remembered as the next run's parent. In the order of `continue_outputs`."""
        record = self.owned(owner_token, run_id, profile)
        continued = continued_from(self.history, record)
        said = f"{pill(RunStatus.NEW)} {continued.said(short_name(record))}"
        return [*self.form_of(record, continued.photo, continued.editor, continued.working, None),
                continued.run_id, said, gr.Tabs(selected="edit")]

    def restored_parent(self, owner_token: str, run_id: str, profile: gr.OAuthProfile | None = None) -> str:
        """After Restore, the next run is a sibling of the restored one: the same parent (when still kept)."""
        record = self.owned(owner_token, run_id, profile)
        parent = self.history.parent_of(record) if record is not None else None
        return parent.run_id if parent is not None else ""

    def zip_selected(self, owner_token: str, run_id: str, profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        record = self.owned(owner_token, run_id, profile)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        return self.zip_to_serve([record], f"run-{record.run_id}.zip", "")

    def zip_everything(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        records = self.history.records(valid_owner(self.service, owner_token, profile))
        if not records:
            raise gr.Error("No runs yet.")
        return self.zip_to_serve(records, "gpt-image-edit-runs.zip",
                                 " Download them one at a time: select a run, then **Download this run**.")

    def zip_to_serve(self, records: list[RunRecord], name: str, advice: str) -> dict[str, Any]:
        """A zip of the runs in the serve cache, its room taken before it is written; refused if it could not fit."""
        size = self.zip_size_bound(records)
        try:
            target = fresh_path(name, size)
        except TooLargeToServe as exc:
            raise gr.Error(copy.ZIP_TOO_LARGE.format(size=megabytes(exc.size), limit=megabytes(exc.limit),
                                                     advice=advice), title="Too large to download") from None
        return gr.update(value=str(self.history.zip_runs(records, target)), visible=True)

    def zip_size_bound(self, records: list[RunRecord]) -> int:
        """The most a zip of these runs' folders can take: deflate grows what it cannot shrink by well under
        0.1%, and each file adds its headers."""
        total = ZIP_ENTRY_OVERHEAD
        for record in records:
            try:
                with os.scandir(self.history.folder(record.run_id)) as entries:
                    total += sum(e.stat().st_size + ZIP_ENTRY_OVERHEAD for e in entries if e.is_file())
            except OSError:
                continue  # pruned meanwhile: the zip will not have it either
        return total + total // 1000

    async def resume(self, owner_token: str, request: gr.Request, request_id: str, key: str,
                     deadline: float, profile: gr.OAuthProfile | None = None) -> AsyncIterator[str]:
        owner_id = valid_owner(self.service, owner_token, profile)
        request_id = (request_id or "").strip()
        if not request_id:
            raise gr.Error("Paste a request id first.")
        run = await in_thread(self.service.resume, request_id, owner=owner_id,
                              visitor_key=visitor_key_from(request, key), deadline=float(deadline or 0) or None,
                              address=client_address(self.service, request), signed_in=signed_in(profile))
        try:
            async for update in run.subscribe():
                yield f"{pill(update.status)} {seconds(update.elapsed)} · request `{request_id}`"
        except errors.SegmindError as exc:
            yield f"{pill(RunStatus.FAILED)} {copy.error_message(exc)}"
            return
        yield (f"{pill(RunStatus.COMPLETED)} Fetched: inference {seconds(run.record.inference_time)} · "
               f"cost {money(run.record.cost)}. It is now in the history above.")


def run_actions(record: RunRecord | None, has_image: bool = False) -> tuple[dict[str, Any], ...]:
    """Restore, Continue and Download-this-run, usable only once a run is selected; Continue only when that
    run has an image still kept to continue from."""
    return (gr.update(interactive=record is not None), gr.update(interactive=record is not None and has_image),
            gr.update(interactive=record is not None))


def build_history_tab(storage_note: str, sign_in: bool = False) -> HistoryTab:
    """The tab's layout; `storage_note` says where runs are kept and whether they survive a restart; `sign_in`
    whether visitors may sign in (then their account's runs are shown)."""
    gr.Markdown(copy.HISTORY_INTRO_SIGN_IN if sign_in else copy.HISTORY_INTRO)
    gr.Markdown(storage_note, elem_id="storage-note")
    running = gr.Markdown(copy.NO_JOBS, elem_id="running-jobs")
    gallery = gr.Gallery(label="Runs (newest first)", columns=4, height=340, allow_preview=False, preview=False,
                         fit_columns=False, object_fit="contain", elem_id="history-gallery")
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", elem_id="history-refresh")
        zip_all = gr.Button("Download all runs (zip)", size="sm", elem_id="history-zip-all")
    with gr.Row():
        with gr.Column(scale=1):
            details = gr.Markdown("Select a run above.", elem_id="history-details")
            with gr.Row():
                # Nothing is selected when the page opens: the buttons wait for a run (see `run_actions`).
                restore = gr.Button("Restore into the form", variant="primary", interactive=False,
                                    elem_id="history-restore")
                continue_from = gr.Button(copy.CONTINUE_HISTORY, variant="primary", interactive=False,
                                          elem_id="history-continue")
                zip_one = gr.Button("Download this run (zip)", interactive=False, elem_id="history-zip-one")
            archive = gr.File(label="Download", interactive=False, visible=False, elem_id="history-zip")
        with gr.Column(scale=1):
            compare_with = gr.Dropdown(label="Compare the selected result with", choices=[], value=None,
                                       elem_id="compare-with", info=copy.COMPARE_INFO)
            compare = compare_slider()
    with gr.Accordion("Resume a job by request id", open=False):
        gr.Markdown(f"{copy.RETENTION} Paste a request id (from a status line, a record or your dashboard) to "
                    "follow that job to the end; it lands in the history.")
        with gr.Row():
            resume_id = gr.Textbox(label="Request id", elem_id="resume-id", scale=3)
            resume = gr.Button("Resume", elem_id="resume", scale=1)
        resume_status = gr.Markdown(elem_id="resume-status")
    # A plain (hidden) field rather than State, so programs can name a run; ownership is checked regardless.
    selected = gr.Textbox(visible=False, elem_id="history-selected")
    return HistoryTab(running, gallery, refresh, zip_all, details, restore, zip_one, archive, compare_with, compare,
                      resume_id, resume, resume_status, gr.State([]), gr.State(None), selected,
                      gr.Timer(REFRESH_SECONDS), continue_from)


def wire_history_tab(tab: HistoryTab, handlers: HistoryHandlers, form: Form, owner: gr.BrowserState,
                     tabs: gr.Tabs, concurrency: dict[str, Any], input_view: gr.Image) -> None:
    quiet = {"queue": False, "api_visibility": "private"}
    # A timer, not a push: Gradio 6 runs every queued event, whatever its concurrency group, in one of its
    # `max_threads` (40) worker slots, so a generator per open page awaiting its owner's changes would let 40
    # idle pages stall every other event, Run included, and a closed page's generator would hold its slot
    # until the owner's next change. An unqueued tick takes no slot and, when nothing changed, costs O(1).
    for trigger in (tab.refresh.click, tab.timer.tick):
        trigger(handlers.refresh_all, [owner, tab.shown], [tab.running, tab.gallery, tab.ids, tab.shown],
                show_progress="hidden", **quiet)
    tab.gallery.select(handlers.select, [owner, tab.ids],
                       [tab.details, tab.selected, tab.compare_with, tab.compare, tab.restore, tab.continue_from,
                        tab.zip_one], **quiet)
    tab.compare_with.change(handlers.compare_pair, [owner, tab.selected, tab.compare_with], tab.compare, **quiet)
    tab.restore.click(handlers.restore, [owner, tab.selected],
                      [form.model, form.prompt, form.photo, form.editor, input_view, form.files, form.urls,
                       form.mask_file, *[form.widgets[name] for name in schema.ALL_OPTION_NAMES],
                       form.custom_width, form.custom_height, form.deadline, tabs],
                      api_name="restore", api_visibility="undocumented")
    tab.zip_one.click(handlers.zip_selected, [owner, tab.selected], tab.archive, api_visibility="private")
    tab.zip_all.click(handlers.zip_everything, owner, tab.archive, api_name="download_all",
                      api_visibility="undocumented")
    tab.resume.click(handlers.resume, [owner, tab.resume_id, form.key, form.deadline], tab.resume_status,
                     api_name="resume", api_visibility="undocumented", **concurrency)


def continue_outputs(form: Form, input_view: gr.Image, parent: gr.State, status: gr.Markdown,
                     tabs: gr.Tabs) -> list[gr.components.Component]:
    """What continuing from a run of History (or a Sweep cell) sets, in `continue_from_result`'s order: the form
    as Restore sets it, the Edit tab's parent and status line, and the tab."""
    return [form.model, form.prompt, form.photo, form.editor, input_view, form.files, form.urls, form.mask_file,
            *[form.widgets[name] for name in schema.ALL_OPTION_NAMES], form.custom_width, form.custom_height,
            form.deadline, parent, status, tabs]


def wire_history_lineage(tab: HistoryTab, handlers: HistoryHandlers, form: Form, owner: gr.BrowserState,
                         tabs: gr.Tabs, input_view: gr.Image, parent: gr.State, status: gr.Markdown) -> Any:
    """Continue from the selected run (returned, so the Edit tab can refresh what it says of the mask), and
    Restore's parent: the restored run's own."""
    tab.restore.click(handlers.restored_parent, [owner, tab.selected], parent, queue=False, api_visibility="private")
    return tab.continue_from.click(handlers.continue_from_result, [owner, tab.selected],
                                   continue_outputs(form, input_view, parent, status, tabs),
                                   api_name="continue_from", api_visibility="undocumented")
