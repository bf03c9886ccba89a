"""Exploring parameters: copy as code, sweeps side by side, history, resume, compare."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any, Callable

import gradio as gr

from components import errors, schema
from components.backend import Backend
from components.history import HistoryStore, RunRecord
from components.inputs import check_request
from components.jobs import JobManager, Phase, Run
from components.snippets import ALL as SNIPPETS
from components.snippets import SnippetRequest
from components.ui_common import (
    MAX_SWEEP_VARIANTS, SERVE_DIR, Form, UiImages, backend_label, money, option_values, seconds, servable,
    state_pill, user_message, valid_owner, visitor_key_from,
)

PROMPT_VARIANTS = "prompt"
SWEEP_REFRESH_SECONDS = 0.5


# Copy as code ------------------------------------------------------------------------


def snippet_request(values: dict[str, Any], backend: Backend) -> SnippetRequest:
    """The form as files and URLs a reader of the snippet would have."""
    images = UiImages.read(values)
    names = (["image-1.png"] if images.edited is not None else []) + \
        [os.path.basename(p) for p in images.files] + images.urls
    mask = None
    if images.mask_file:
        mask = os.path.basename(images.mask_file)
    elif images.painted_mask is not None:
        mask = "mask.png"
    return SnippetRequest(values.get("prompt") or "", names, mask, option_values(values),
                          model=backend.settings.model, api_base=backend.settings.api_base,
                          storage_base=backend.settings.storage_base)


def build_code_panel(form: Form, backend: Backend) -> None:
    with gr.Accordion("Copy as code", open=False, elem_id="code-panel"):
        gr.Markdown("Code that sends exactly this request. Your key is read from `SEGMIND_API_KEY`, never written "
                    "out. `image-1.png` is the image in the editor and `mask.png` the mask shown above "
                    "(both are in a run's zip in *History*); uploaded references keep their file names.")
        show = gr.Button("Show code for this form", elem_id="show-code")
        blocks = [gr.Code(label=name, language="shell" if name == "curl" else "python", interactive=False,
                          elem_id=f"code-{index}") for index, name in enumerate(SNIPPETS)]

    def code(**values):
        request = snippet_request(values, backend)
        return [make(request) for make in SNIPPETS.values()]

    show.click(code, inputs_kwargs=form.kwargs, outputs=blocks, api_name="show_code",
               api_visibility="undocumented", queue=False)


# Sweeps ------------------------------------------------------------------------------


def sweep_choices(param: str) -> tuple[list[str], bool, bool]:
    """Choices to tick for a parameter; whether to show the compression box and prompt variants."""
    if param == PROMPT_VARIANTS:
        return [], False, True
    spec = schema.PARAMS_BY_NAME[param]
    return list(spec.choices), not spec.choices, False


def sweep_variants(param: str, ticked: list[str], compressions: str, prompts: list[str],
                   values: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, request) for each variant of the form."""
    if param == PROMPT_VARIANTS:
        chosen = [p for p in prompts if p and p.strip()]
        return [(f"prompt {i}", Form.request(values, prompt=p)) for i, p in enumerate(chosen, start=1)]
    if schema.PARAMS_BY_NAME[param].choices:
        picked: list[Any] = list(ticked or [])
    else:
        picked = []
        for part in (compressions or "").replace(";", ",").split(","):
            part = part.strip()
            if part:
                picked.append(int(part) if part.lstrip("-").isdigit() else part)
    return [(f"{param}={value}", Form.request(values, **{param: value})) for value in picked]


def sweep_table(runs: list[Run]) -> str:
    rows = ["| Variant | State | Time | Request id | Cost |", "|---|---|---|---|---|"]
    for run in runs:
        update, record = run.latest, run.record
        phase = update.phase if update else Phase.WAITING
        elapsed = record.total_time if run.done.is_set() else (update.elapsed if update else 0.0)
        rows.append(f"| {record.label} | {state_pill(phase.value)} | {seconds(elapsed)} | "
                    f"`{record.request_id or '—'}` | {money(record.cost)} |")
    errors_seen = [f"- **{r.record.label}**: {r.record.error}" for r in runs if r.record.error]
    return "\n".join(rows + ([""] + errors_seen if errors_seen else []))


def sweep_gallery(runs: list[Run], shown: dict[str, str]) -> list[tuple[str, str]]:
    """Finished variants' images (each copied out once), labelled."""
    items = []
    for run in runs:
        if run.result_path:
            if run.run_id not in shown:
                shown[run.run_id] = servable(run.result_path)
            items.append((shown[run.run_id],
                          f"{run.record.label} · {seconds(run.record.total_time)} · {money(run.record.cost)}"))
    return items


def build_sweep_tab(form: Form, owner: gr.BrowserState, manager: JobManager, backend: Backend,
                    concurrency: dict[str, Any]) -> None:
    first = schema.PARAMS_BY_NAME["quality"]
    with gr.Tab("Sweep", id="sweep"):
        gr.Markdown("Run the **Edit** tab's image, mask, references, prompt and settings several times, varying "
                    "one thing, and see the results side by side. Every variant is checked before any is sent, "
                    "and each one is billed.")
        with gr.Row():
            param = gr.Dropdown([(p.label, p.name) for p in schema.OPTIONS] + [("Prompt variants", PROMPT_VARIANTS)],
                                value=first.name, label="Vary", elem_id="sweep-param")
            limit = gr.Slider(1, MAX_SWEEP_VARIANTS, value=4, step=1, label="At most this many at a time",
                              elem_id="sweep-limit")
        ticked = gr.CheckboxGroup(list(first.choices), value=list(first.choices), label="Values",
                                  elem_id="sweep-values")
        compressions = gr.Textbox("25, 50, 75, 100", label="Compression values (1-100, comma-separated)",
                                  visible=False, elem_id="sweep-compressions")
        prompts = [gr.Textbox(label=f"Prompt variant {i}", visible=False, lines=2, elem_id=f"sweep-prompt-{i}")
                   for i in range(1, 5)]
        with gr.Row():
            start = gr.Button("Run sweep", variant="primary", elem_id="run-sweep")
            stop = gr.Button("Stop sweep", variant="stop", elem_id="stop-sweep")
        table = gr.Markdown(elem_id="sweep-status")
        grid = gr.Gallery(label="Sweep results", columns=4, height=420, elem_id="sweep-gallery",
                          allow_preview=True, object_fit="contain")
        run_ids = gr.State([])

    def pick(name: str):
        choices, show_compressions, show_prompts = sweep_choices(name)
        return [gr.update(choices=choices, value=choices, visible=bool(choices)),
                gr.update(visible=show_compressions)] + [gr.update(visible=show_prompts)] * len(prompts)

    param.change(pick, param, [ticked, compressions, *prompts], queue=False, api_visibility="private")

    async def run_sweep(owner_id: str, request: gr.Request, name: str, picked: list[str], compression_text: str,
                        limit_value: float, *prompt_texts: str, **values):
        owner_id = valid_owner(owner_id)
        if name != PROMPT_VARIANTS and name not in {p.name for p in schema.OPTIONS}:
            raise gr.Error(f"{name!r} is not a parameter a sweep can vary.")
        if not values.get("deadline") or float(values["deadline"]) <= 0:
            raise gr.Error("Set a positive deadline (under API key and deadline).")
        variants = sweep_variants(name, picked, compression_text, list(prompt_texts), values)
        if not variants:
            raise gr.Error("Pick at least one value (or write at least one prompt variant) to sweep.")
        if len(variants) > MAX_SWEEP_VARIANTS:
            raise gr.Error(f"A sweep runs at most {MAX_SWEEP_VARIANTS} variants; you picked {len(variants)}.")
        problems = await asyncio.to_thread(
            lambda: [f"**{label}**: {issue}" for label, edit in variants for issue in check_request(edit)[1]])
        if problems:
            raise gr.Error("Nothing was sent. " + "; ".join(problems))
        key = visitor_key_from(request, values.get("visitor_key"))
        refusal = backend.admit(owner_id, key, jobs=len(variants))
        if refusal:
            raise gr.Error(refusal, title="Limit reached", print_exception=False)
        try:
            runs = await asyncio.to_thread(manager.start_sweep, variants, owner=owner_id, limit=int(limit_value),
                                           visitor_key=key, deadline=float(values["deadline"]))
        except errors.SegmindError as exc:
            raise gr.Error(user_message(exc), title="Not started", print_exception=False) from None
        ids = [run.run_id for run in runs]
        shown: dict[str, str] = {}
        # Watching ends when the tab closes; the runs go on and land in the history.
        while True:
            yield {table: sweep_table(runs), grid: sweep_gallery(runs, shown), run_ids: ids}
            if all(run.done.is_set() for run in runs):
                return
            await asyncio.sleep(SWEEP_REFRESH_SECONDS)

    sweep_event = start.click(
        run_sweep, inputs=[owner, param, ticked, compressions, limit, *prompts], inputs_kwargs=form.kwargs,
        outputs=[table, grid, run_ids], api_name="sweep", api_visibility="undocumented", **concurrency)

    def stop_all(ids: list[str]) -> str:
        stopped = sum(manager.stop(run_id) for run_id in ids or [])
        return (f"{state_pill('STOPPED')} Stopped following {stopped} variant(s). Jobs already submitted may "
                "still finish and be billed; find their request ids in *History*.")

    stop.click(stop_all, run_ids, table, cancels=[sweep_event], queue=False, api_visibility="private")


# History -----------------------------------------------------------------------------


def caption(record: RunRecord) -> str:
    name = record.label or (record.prompt[:32] + ("…" if len(record.prompt) > 32 else ""))
    state = "" if record.status == "COMPLETED" else f"{record.status} · "
    return f"{name} · {state}{seconds(record.total_time)} · {money(record.cost)}"


def record_details(record: RunRecord) -> str:
    timeline = " → ".join(f"{s['state']} ({s['at'][11:19]})" for s in record.states) or "—"
    options = ", ".join(f"`{k}={v}`" for k, v in record.options.items()) or "—"
    inputs = ", ".join(f"`{i}`" for i in record.inputs) or "—"
    lines = [
        f"**{record.label or 'Run'}** · {state_pill(record.status)} · {backend_label(record.backend)} · "
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


def build_history_tab(form: Form, owner: gr.BrowserState, history: HistoryStore, manager: JobManager,
                      tabs: gr.Tabs, concurrency: dict[str, Any]) -> Callable:
    with gr.Tab("History", id="history"):
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
            gr.Markdown("Segmind keeps results for one hour. Paste a request id (from a status line, a record or "
                        "your dashboard) to follow that job to the end; it lands in the history.")
            with gr.Row():
                resume_id = gr.Textbox(label="Request id", elem_id="resume-id", scale=3)
                resume = gr.Button("Resume", elem_id="resume", scale=1)
            resume_status = gr.Markdown(elem_id="resume-status")
        ids = gr.State([])
        # A plain (hidden) field rather than State, so programs can name a run; ownership is checked regardless.
        selected = gr.Textbox(visible=False, elem_id="history-selected")
        timer = gr.Timer(2.0)

    def owned(owner_id: object, run_id: str) -> RunRecord | None:
        """The run, only when it belongs to this browser."""
        owner_id = valid_owner(owner_id)
        record = history.get(run_id) if isinstance(run_id, str) and run_id else None
        return record if record is not None and record.owner == owner_id else None

    def gallery_items(owner_id: str):
        records = history.records(owner_id)
        items = []
        for record in records:
            thumb = history.thumbnail(record)
            if thumb is not None:
                items.append((servable(thumb), caption(record)))
        shown = [r.run_id for r in records if history.path(r, r.result)]
        return items, shown

    def running_text(owner_id: str) -> str:
        runs = manager.running(owner_id)
        if not runs:
            return "No jobs running."
        rows = ["**Still running** (they go on if you close the tab):", "",
                "| Run | State | Time | Request id |", "|---|---|---|---|"]
        for run in runs:
            update = run.latest
            rows.append(f"| {run.record.label or run.record.prompt[:30]} | "
                        f"{state_pill(update.phase.value if update else Phase.PREPARING.value)} | "
                        f"{seconds(update.elapsed if update else 0)} | `{run.record.request_id or '—'}` |")
        return "\n".join(rows)

    def refresh_all(owner_id: object, shown: list[str]):
        if not isinstance(owner_id, str) or not owner_id:
            return "No jobs running.", gr.update(), shown
        owner_id = valid_owner(owner_id)
        items, now_shown = gallery_items(owner_id)
        gallery_update = gr.update(value=items) if now_shown != shown else gr.update()
        return running_text(owner_id), gallery_update, now_shown

    for trigger in (refresh.click, timer.tick):
        trigger(refresh_all, [owner, ids], [running, gallery, ids], queue=False, show_progress="hidden",
                api_visibility="private")

    def select(owner_id: str, shown: list[str], event: gr.SelectData):
        run_id = shown[event.index] if event.index < len(shown) else ""
        record = owned(owner_id, run_id)
        if record is None:
            return "Select a run above.", "", gr.update(choices=[], value=None), None
        others = [(f"Its input ({record.inputs[0]})", "input")] if record.inputs else []
        others += [(caption(r), r.run_id) for r in history.records(record.owner)
                   if r.run_id != run_id and history.path(r, r.result)]
        first = others[0][1] if others else None
        return record_details(record), run_id, gr.update(choices=others, value=first), \
            compare_pair(owner_id, run_id, first)

    def compare_pair(owner_id: str, run_id: str, other: str | None):
        record = owned(owner_id, run_id)
        if record is None or other is None:
            return None
        result = history.path(record, record.result)
        if other == "input":
            base = history.path(record, record.inputs[0]) if record.inputs else None
        else:
            other_record = owned(owner_id, other)
            base = history.path(other_record, other_record.result) if other_record else None
        return (servable(base), servable(result)) if base and result else None

    gallery.select(select, [owner, ids], [details, selected, compare_with, compare], queue=False,
                   api_visibility="private")
    compare_with.change(compare_pair, [owner, selected, compare_with], compare, queue=False,
                        api_visibility="private")

    def restore_run(owner_id: str, run_id: str):
        record = owned(owner_id, run_id)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        local = [history.path(record, name) for name in record.inputs]
        first = local[0] if local and local[0] else None
        references = [servable(p) for p in local[1:] if p]
        # A URL anywhere (even first: the editor only holds local images) goes back to the URL box.
        urls = "\n".join(name for name in record.inputs if "://" in name)
        mask = history.path(record, record.mask)
        updates = [record.prompt, servable(first), references or None, urls, servable(mask)]
        updates += [record.options.get(p.name, p.default) for p in schema.OPTIONS]
        return [*updates, gr.Tabs(selected="edit")]

    restore.click(restore_run, [owner, selected],
                  [form.prompt, form.editor, form.files, form.urls, form.mask_file,
                   *[form.widgets[p.name] for p in schema.OPTIONS], tabs],
                  api_name="restore", api_visibility="undocumented")

    def zip_selected(owner_id: str, run_id: str):
        record = owned(owner_id, run_id)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        archive_path = history.zip_runs([record], SERVE_DIR / secrets.token_hex(8) / f"run-{record.run_id}.zip")
        return gr.update(value=str(archive_path), visible=True)

    def zip_everything(owner_id: object):
        records = history.records(valid_owner(owner_id))
        if not records:
            raise gr.Error("No runs yet.")
        archive_path = history.zip_runs(records, SERVE_DIR / secrets.token_hex(8) / "gpt-image-1-edit-runs.zip")
        return gr.update(value=str(archive_path), visible=True)

    zip_one.click(zip_selected, [owner, selected], archive, api_visibility="private")
    zip_all.click(zip_everything, owner, archive, api_name="download_all", api_visibility="undocumented")

    async def resume_job(owner_id: str, request: gr.Request, request_id: str, key: str, deadline: float):
        owner_id = valid_owner(owner_id)
        if not (request_id or "").strip():
            raise gr.Error("Paste a request id first.")
        try:
            run = await asyncio.to_thread(manager.resume, request_id.strip(), owner=owner_id,
                                          visitor_key=visitor_key_from(request, key), deadline=float(deadline or 0) or None)
        except errors.SegmindError as exc:
            raise gr.Error(user_message(exc), title="Not started", print_exception=False) from None
        try:
            async for update in manager.watch(run):
                yield f"{state_pill(update.phase.value)} {seconds(update.elapsed)} · request `{request_id.strip()}`"
        except errors.SegmindError as exc:
            yield f"{state_pill('FAILED')} {exc.message}"
            return
        yield (f"{state_pill('COMPLETED')} Fetched: inference {seconds(run.record.inference_time)} · "
               f"cost {money(run.record.cost)}. It is now in the history above.")

    resume.click(resume_job, [owner, resume_id, form.key, form.deadline], resume_status, api_name="resume",
                 api_visibility="undocumented", **concurrency)

    return refresh_all
