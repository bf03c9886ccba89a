"""The Sweep tab: the Edit tab's request several times, one thing varied, results side by side."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, AsyncIterator

import gradio as gr

from components.api import schema
from components.app.runs import Run
from components.app.service import EditService
from components.app.status import RunStatus
from components.media.images import EditRequest
from components.ui.errors import in_thread
from components.ui.form import Form, form_request, valid_owner, visitor_key_from
from components.ui.serving import servable
from components.ui.status import money, pill, seconds

PROMPT_VARIANTS = "prompt"
MAX_SWEEP_VARIANTS = 8
PROMPT_VARIANT_BOXES = 4
SWEEP_REFRESH_SECONDS = 0.5


def sweep_choices(param: str) -> tuple[list[str], bool, bool]:
    """Choices to tick for a parameter; whether to show the compression box and prompt variants."""
    if param == PROMPT_VARIANTS:
        return [], False, True
    spec = schema.PARAMS_BY_NAME[param]
    return list(spec.choices), not spec.choices, False


def sweep_variants(param: str, ticked: list[str], compressions: str, prompts: list[str],
                   values: dict[str, Any]) -> list[tuple[str, EditRequest]]:
    """(label, request) for each variant of the form."""
    if param == PROMPT_VARIANTS:
        chosen = [p for p in prompts if p and p.strip()]
        return [(f"prompt {i}", form_request(values, prompt=p)) for i, p in enumerate(chosen, start=1)]
    if schema.PARAMS_BY_NAME[param].choices:
        picked: list[Any] = list(ticked or [])
    else:
        picked = []
        for part in (compressions or "").replace(";", ",").split(","):
            part = part.strip()
            if part:
                picked.append(int(part) if part.lstrip("-").isdigit() else part)
    return [(f"{param}={value}", form_request(values, **{param: value})) for value in picked]


def sweep_table(runs: list[Run]) -> str:
    rows = ["| Variant | State | Time | Request id | Cost |", "|---|---|---|---|---|"]
    for run in runs:
        update, record = run.latest, run.record
        status = update.status if update else RunStatus.WAITING
        elapsed = record.total_time if run.done else (update.elapsed if update else 0.0)
        rows.append(f"| {record.label} | {pill(status)} | {seconds(elapsed)} | "
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


@dataclass
class SweepTab:
    param: gr.Dropdown
    limit: gr.Slider
    ticked: gr.CheckboxGroup
    compressions: gr.Textbox
    prompts: list[gr.Textbox]
    start: gr.Button
    stop: gr.Button
    table: gr.Markdown
    grid: gr.Gallery
    run_ids: gr.State


class SweepHandlers:
    def __init__(self, service: EditService, tab: SweepTab) -> None:
        self.service = service
        self.tab = tab

    def pick(self, name: str) -> list[dict]:
        choices, show_compressions, show_prompts = sweep_choices(name)
        return [gr.update(choices=choices, value=choices, visible=bool(choices)),
                gr.update(visible=show_compressions)] + [gr.update(visible=show_prompts)] * len(self.tab.prompts)

    @staticmethod
    def variants(name: str, picked: list[str], compression_text: str, prompt_texts: list[str],
                 values: dict[str, Any]) -> list[tuple[str, EditRequest]]:
        """The labelled variants, or a gr.Error saying why there are none to run."""
        if name != PROMPT_VARIANTS and name not in {p.name for p in schema.OPTIONS}:
            raise gr.Error(f"{name!r} is not a parameter a sweep can vary.")
        if not values.get("deadline") or float(values["deadline"]) <= 0:
            raise gr.Error("Set a positive deadline (under API key and deadline).")
        variants = sweep_variants(name, picked, compression_text, prompt_texts, values)
        if not variants:
            raise gr.Error("Pick at least one value (or write at least one prompt variant) to sweep.")
        if len(variants) > MAX_SWEEP_VARIANTS:
            raise gr.Error(f"A sweep runs at most {MAX_SWEEP_VARIANTS} variants; you picked {len(variants)}.")
        return variants

    async def run(self, owner_id: str, request: gr.Request, name: str, picked: list[str], compression_text: str,
                  limit_value: float, *prompt_texts: str, **values: Any) -> AsyncIterator[dict]:
        tab = self.tab
        owner_id = valid_owner(owner_id)
        variants = self.variants(name, picked, compression_text, list(prompt_texts), values)
        key = visitor_key_from(request, values.get("visitor_key"))
        runs = await in_thread(self.service.start_sweep, variants, owner=owner_id, limit=int(limit_value),
                               visitor_key=key, deadline=float(values["deadline"]))
        ids = [run.run_id for run in runs]
        shown: dict[str, str] = {}
        # Watching ends when the tab closes; the runs go on and land in the history.
        while True:
            yield {tab.table: sweep_table(runs), tab.grid: sweep_gallery(runs, shown), tab.run_ids: ids}
            if all(run.done for run in runs):
                return
            await asyncio.sleep(SWEEP_REFRESH_SECONDS)

    def stop_all(self, ids: list[str]) -> str:
        stopped = sum(self.service.stop(run_id) for run_id in ids or [])
        return (f"{pill(RunStatus.STOPPED)} Stopped following {stopped} variant(s). Jobs already submitted may "
                "still finish and be billed; find their request ids in *History*.")


def build_sweep_tab() -> SweepTab:
    first = schema.PARAMS_BY_NAME["quality"]
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
               for i in range(1, PROMPT_VARIANT_BOXES + 1)]
    with gr.Row():
        start = gr.Button("Run sweep", variant="primary", elem_id="run-sweep")
        stop = gr.Button("Stop sweep", variant="stop", elem_id="stop-sweep")
    table = gr.Markdown(elem_id="sweep-status")
    grid = gr.Gallery(label="Sweep results", columns=4, height=420, elem_id="sweep-gallery",
                      allow_preview=True, object_fit="contain")
    return SweepTab(param, limit, ticked, compressions, prompts, start, stop, table, grid, gr.State([]))


def wire_sweep_tab(tab: SweepTab, handlers: SweepHandlers, form: Form, owner: gr.BrowserState,
                   concurrency: dict[str, Any]) -> None:
    tab.param.change(handlers.pick, tab.param, [tab.ticked, tab.compressions, *tab.prompts], queue=False,
                     api_visibility="private")
    sweep_event = tab.start.click(
        handlers.run, inputs=[owner, tab.param, tab.ticked, tab.compressions, tab.limit, *tab.prompts],
        inputs_kwargs=form.kwargs, outputs=[tab.table, tab.grid, tab.run_ids], api_name="sweep",
        api_visibility="undocumented", **concurrency)
    tab.stop.click(handlers.stop_all, tab.run_ids, tab.table, cancels=[sweep_event], queue=False,
                   api_visibility="private")
