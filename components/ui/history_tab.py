"""The History tab: every run from this browser, its details, restore, zips, compare and resume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator

import gradio as gr

from components.api import errors, schema
from components.app.history import HistoryStore, RunRecord
from components.app.service import EditService
from components.app.status import RunStatus
from components.ui import copy
from components.ui.errors import in_thread
from components.ui.form import Form, valid_owner, visitor_key_from
from components.ui.serving import fresh_path, servable
from components.ui.status import backend_label, money, pill, seconds

REFRESH_SECONDS = 2.0


def caption(record: RunRecord) -> str:
    name = record.label or (record.prompt[:32] + ("…" if len(record.prompt) > 32 else ""))
    state = "" if record.status is RunStatus.COMPLETED else f"{record.status.value} · "
    return f"{name} · {state}{seconds(record.total_time)} · {money(record.cost)}"


def record_details(record: RunRecord) -> str:
    timeline = " → ".join(f"{s['state']} ({s['at'][11:19]})" for s in record.states) or "—"
    options = ", ".join(f"`{k}={v}`" for k, v in record.options.items()) or "—"
    inputs = ", ".join(f"`{i}`" for i in record.inputs) or "—"
    lines = [
        f"**{record.label or 'Run'}** · {pill(record.status)} · {backend_label(record.backend)} · "
        f"started {record.created_at[:19].replace('T', ' ')} UTC",
        f"- Prompt: {record.prompt}",
        f"- Settings: {options}",
        f"- Inputs: {inputs}" + (f"; mask `{record.mask}`" if record.mask else ""),
        f"- Request id: `{record.request_id or '—'}` · states: {timeline}",
        f"- Inference {seconds(record.inference_time)} · total {seconds(record.total_time)} · "
        f"cost {money(record.cost)} · remaining credits {money(record.remaining_credits)}",
    ]
    if record.notes:
        lines.append(f"- Changed to fit the model: {' '.join(record.notes)}")
    if record.error:
        lines.append(f"- Error: {record.error}")
    return "\n".join(lines)


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
    ids: gr.State
    selected: gr.Textbox
    timer: gr.Timer


class HistoryHandlers:
    def __init__(self, service: EditService, history: HistoryStore) -> None:
        self.service = service
        self.history = history

    def owned(self, owner_id: object, run_id: str) -> RunRecord | None:
        """The run, only when it belongs to this browser."""
        owner_id = valid_owner(owner_id)
        record = self.history.get(run_id) if isinstance(run_id, str) and run_id else None
        return record if record is not None and record.owner == owner_id else None

    def gallery_items(self, owner_id: str) -> tuple[list[tuple[str, str]], list[str]]:
        records = self.history.records(owner_id)
        items = []
        for record in records:
            thumb = self.history.thumbnail(record)
            if thumb is not None:
                items.append((servable(thumb), caption(record)))
        shown = [r.run_id for r in records if self.history.path(r, r.result)]
        return items, shown

    def running_text(self, owner_id: str) -> str:
        runs = self.service.live(owner_id)
        if not runs:
            return "No jobs running."
        rows = ["**Still running** (they go on if you close the tab):", "",
                "| Run | State | Time | Request id |", "|---|---|---|---|"]
        for run in runs:
            update = run.latest
            rows.append(f"| {run.record.label or run.record.prompt[:30]} | "
                        f"{pill(update.status if update else RunStatus.PREPARING)} | "
                        f"{seconds(update.elapsed if update else 0)} | `{run.record.request_id or '—'}` |")
        return "\n".join(rows)

    def refresh_all(self, owner_id: object, shown: list[str]) -> tuple[str, Any, list[str]]:
        if not isinstance(owner_id, str) or not owner_id:
            return "No jobs running.", gr.update(), shown
        owner_id = valid_owner(owner_id)
        items, now_shown = self.gallery_items(owner_id)
        gallery_update = gr.update(value=items) if now_shown != shown else gr.update()
        return self.running_text(owner_id), gallery_update, now_shown

    def select(self, owner_id: str, shown: list[str], event: gr.SelectData):
        run_id = shown[event.index] if event.index < len(shown) else ""
        record = self.owned(owner_id, run_id)
        if record is None:
            return "Select a run above.", "", gr.update(choices=[], value=None), None
        others = [(f"Its input ({record.inputs[0]})", "input")] if record.inputs else []
        others += [(caption(r), r.run_id) for r in self.history.records(record.owner)
                   if r.run_id != run_id and self.history.path(r, r.result)]
        first = others[0][1] if others else None
        return record_details(record), run_id, gr.update(choices=others, value=first), \
            self.compare_pair(owner_id, run_id, first)

    def compare_pair(self, owner_id: str, run_id: str, other: str | None):
        record = self.owned(owner_id, run_id)
        if record is None or other is None:
            return None
        result = self.history.path(record, record.result)
        if other == "input":
            base = self.history.path(record, record.inputs[0]) if record.inputs else None
        else:
            other_record = self.owned(owner_id, other)
            base = self.history.path(other_record, other_record.result) if other_record else None
        return (servable(base), servable(result)) if base and result else None

    def restore(self, owner_id: str, run_id: str) -> list[Any]:
        """The run's prompt, images, mask and options, in the order of `restore_outputs`."""
        record = self.owned(owner_id, run_id)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        local = [self.history.path(record, name) for name in record.inputs]
        first = local[0] if local and local[0] else None
        references = [servable(p) for p in local[1:] if p]
        # A URL anywhere (even first: the editor only holds local images) goes back to the URL box.
        urls = "\n".join(name for name in record.inputs if "://" in name)
        mask = self.history.path(record, record.mask)
        updates = [record.prompt, servable(first), references or None, urls, servable(mask)]
        updates += [record.options.get(p.name, p.default) for p in schema.OPTIONS]
        return [*updates, gr.Tabs(selected="edit")]

    def zip_selected(self, owner_id: str, run_id: str):
        record = self.owned(owner_id, run_id)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        archive_path = self.history.zip_runs([record], fresh_path(f"run-{record.run_id}.zip"))
        return gr.update(value=str(archive_path), visible=True)

    def zip_everything(self, owner_id: object):
        records = self.history.records(valid_owner(owner_id))
        if not records:
            raise gr.Error("No runs yet.")
        archive_path = self.history.zip_runs(records, fresh_path("gpt-image-edit-runs.zip"))
        return gr.update(value=str(archive_path), visible=True)

    async def resume(self, owner_id: str, request: gr.Request, request_id: str, key: str,
                     deadline: float) -> AsyncIterator[str]:
        owner_id = valid_owner(owner_id)
        request_id = (request_id or "").strip()
        if not request_id:
            raise gr.Error("Paste a request id first.")
        run = await in_thread(self.service.resume, request_id, owner=owner_id,
                              visitor_key=visitor_key_from(request, key), deadline=float(deadline or 0) or None)
        try:
            async for update in run.subscribe():
                yield f"{pill(update.status)} {seconds(update.elapsed)} · request `{request_id}`"
        except errors.SegmindError as exc:
            yield f"{pill(RunStatus.FAILED)} {copy.error_message(exc)}"
            return
        yield (f"{pill(RunStatus.COMPLETED)} Fetched: inference {seconds(run.record.inference_time)} · "
               f"cost {money(run.record.cost)}. It is now in the history above.")


def build_history_tab() -> HistoryTab:
    gr.Markdown("Every run from this browser, kept on the server (results, inputs and a JSON record each) so "
                "nothing you paid for is lost when the tab closes. Click a run to see it; **Restore** puts its "
                "prompt, images and settings back into the form.")
    running = gr.Markdown(elem_id="running-jobs")
    gallery = gr.Gallery(label="Runs (newest first)", columns=4, height=340, allow_preview=False, preview=False,
                         fit_columns=False, object_fit="contain", elem_id="history-gallery")
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", elem_id="history-refresh")
        zip_all = gr.Button("Download all runs (zip)", size="sm", elem_id="history-zip-all")
    with gr.Row():
        with gr.Column(scale=1):
            details = gr.Markdown("Select a run above.", elem_id="history-details")
            with gr.Row():
                restore = gr.Button("Restore into the form", variant="primary", elem_id="history-restore")
                zip_one = gr.Button("Download this run (zip)", elem_id="history-zip-one")
            archive = gr.File(label="Download", interactive=False, visible=False, elem_id="history-zip")
        with gr.Column(scale=1):
            compare_with = gr.Dropdown(label="Compare the selected result with", choices=[], value=None,
                                       elem_id="compare-with", info="Its input, or another run's result.")
            compare = gr.ImageSlider(label="Compare (drag the slider)", type="filepath", elem_id="compare",
                                     height=360)
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
                      resume_id, resume, resume_status, gr.State([]), selected, gr.Timer(REFRESH_SECONDS))


def wire_history_tab(tab: HistoryTab, handlers: HistoryHandlers, form: Form, owner: gr.BrowserState,
                     tabs: gr.Tabs, concurrency: dict[str, Any]) -> None:
    quiet = {"queue": False, "api_visibility": "private"}
    for trigger in (tab.refresh.click, tab.timer.tick):
        trigger(handlers.refresh_all, [owner, tab.ids], [tab.running, tab.gallery, tab.ids], show_progress="hidden",
                **quiet)
    tab.gallery.select(handlers.select, [owner, tab.ids], [tab.details, tab.selected, tab.compare_with, tab.compare],
                       **quiet)
    tab.compare_with.change(handlers.compare_pair, [owner, tab.selected, tab.compare_with], tab.compare, **quiet)
    tab.restore.click(handlers.restore, [owner, tab.selected],
                      [form.prompt, form.editor, form.files, form.urls, form.mask_file,
                       *[form.widgets[p.name] for p in schema.OPTIONS], tabs],
                      api_name="restore", api_visibility="undocumented")
    tab.zip_one.click(handlers.zip_selected, [owner, tab.selected], tab.archive, api_visibility="private")
    tab.zip_all.click(handlers.zip_everything, owner, tab.archive, api_name="download_all",
                      api_visibility="undocumented")
    tab.resume.click(handlers.resume, [owner, tab.resume_id, form.key, form.deadline], tab.resume_status,
                     api_name="resume", api_visibility="undocumented", **concurrency)
