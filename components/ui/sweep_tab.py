"""The Sweep tab: the Edit tab's request several times, one thing varied, results side by side."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import gradio as gr

from components.api import errors, schema
from components.api.transport import check_key
from components.app.runs import Run
from components.app.service import EditService
from components.app.status import RunStatus
from components.media.images import EditRequest
from components.ui import copy
from components.ui.errors import in_thread
from components.ui.form import (
    IMAGE_PARAMS, Form, UiImages, client_address, form_request, signed_in, valid_owner, visitor_key_from,
    with_overrides,
)
from components.ui.models import size_value
from components.ui.serving import servable
from components.ui.status import money, pill, seconds

PROMPT_VARIANTS = "prompt"
MODEL_AXIS = "model"
MAX_SWEEP_VARIANTS = 8
PROMPT_VARIANT_BOXES = 4
SWEEP_REFRESH_SECONDS = 0.5

def sweep_choices(param: str, model: str | None = None,
                  offered: tuple[str, ...] = tuple(schema.MODELS)) -> tuple[list[str], bool, bool]:
    """Choices to tick for a parameter of the form's `model`; whether to show the compression box and
    prompt variants. The model axis offers the picker's models."""
    if param == PROMPT_VARIANTS:
        return [], False, True
    if param == MODEL_AXIS:
        return list(offered), False, False
    spec = _spec(param, model)
    return list(spec.choices), not spec.choices, False


def _spec(param: str, model: str | None = None) -> schema.Param:
    return schema.model_or_default(model).params_by_name[param]


def sweep_values(param: str, ticked: list[str] | None, compressions: str | None,
                 prompts: list[str] | None) -> list[tuple[str, dict[str, Any]]]:
    """(label, what the variant changes) for each variant; nothing about the images is read."""
    if param == PROMPT_VARIANTS:
        # Labelled by box, so "prompt 3" is the box called "Prompt variant 3" even when box 2 is empty.
        return [(f"prompt {i}", {"prompt": p}) for i, p in enumerate(prompts or [], start=1) if p and p.strip()]
    if param == MODEL_AXIS:
        return [(f"model={slug}", {"model": slug}) for slug in ticked or [] if slug in schema.MODELS]
    if param not in schema.ALL_OPTION_NAMES:
        return []
    if _spec(param).choices:
        picked: list[Any] = list(ticked or [])
    else:
        picked = []
        for part in (compressions or "").replace(";", ",").split(","):
            part = part.strip()
            if part:
                picked.append(int(part) if part.lstrip("-").isdigit() else part)
    return [(f"{param}={value}", {param: value}) for value in picked]


def sweep_variants(param: str, ticked: list[str], compressions: str, prompts: list[str],
                   values: dict[str, Any]) -> list[tuple[str, EditRequest]]:
    """(label, request) for each variant of the form.

    A model variant takes the form's options where its model allows them and its defaults elsewhere;
    its label says which options it could not take.
    """
    variants = []
    form = form_request(values)  # the images are read once, for every variant
    for label, overrides in sweep_values(param, ticked, compressions, prompts):
        request = with_overrides(form, **overrides)
        if param == MODEL_AXIS:
            changed = [f"{name} {value}" for name, value in request.options.items() if form.options.get(name) != value]
            label += f" ({', '.join(changed)})" if changed else ""
        variants.append((label, request))
    return variants


def sweep_cost(param: str, ticked: list[str] | None, compressions: str | None, prompts: list[str] | None,
               quality: str, size: str, model: str | None = None) -> str:
    """What the sweep would cost, before it starts: "N jobs × about $X = about $Y", or each price when they differ.

    `size` is the form's, as sent (a custom size as WIDTHxHEIGHT); a model variant is priced on its own model,
    at the options it can take."""
    entries = sweep_values(param, ticked, compressions, prompts)
    if not entries:
        return copy.NO_COST_YET
    form_options = {"quality": quality, "size": size}
    prices = []
    for _, changes in entries:
        entry = schema.model_or_default(changes.get("model") or model)
        options = {**form_options, **{k: v for k, v in changes.items() if k != "model"}}
        prices.append(entry.estimated_cost(entry.adapt_options(options) if "model" in changes else options))
    count, total = len(prices), sum(prices)
    jobs = f"{count} job{'s' if count != 1 else ''}"
    if len(set(prices)) == 1:
        text = f"{jobs} × about {money(prices[0])} = about {money(total)}"
    else:
        each = ", ".join(f"{label} {money(price)}" for (label, _), price in zip(entries, prices))
        text = f"{jobs} = about {money(total)} ({each})"
    if count > MAX_SWEEP_VARIANTS:
        text += f"; {copy.TOO_MANY.format(limit=MAX_SWEEP_VARIANTS, count=count)}"
    return f"{text}. {copy.COST_NOTE}."


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


def values_target(param: str, label: str) -> str:
    """Which sweep input holds a variant's value: the ticked values, the compression box or a prompt box."""
    if param == PROMPT_VARIANTS:
        return f"prompt-{label.rpartition(' ')[2]}"
    if param not in schema.ALL_OPTION_NAMES:
        return "ticked"
    return "ticked" if _spec(param).choices else "compressions"


def sweep_problems(param: str, ticked: list[str] | None, compressions: str | None, prompts: list[str],
                   values: dict[str, Any], check: Callable[[EditRequest], Any] | None) -> dict[str, list[str]]:
    """Everything that stops a sweep, in plain text, by the input it belongs to; empty when it may start.

    `check` checks one variant's request as it would be sent (raising ValidationError); without it only
    the sweep's own settings are checked.

    Keys are "param", "ticked", "compressions", "prompt-<n>" (the sweep's own inputs) or the form's input
    names. A problem every variant shares belongs to the form: it is marked at the form's input. One that
    only some variants have is marked at the sweep's values. Each message names its variants, and "param"
    (always in view on the Sweep tab) carries the whole list.
    """
    marks: dict[str, list[str]] = {}
    summary: list[str] = []

    def add(target: str, message: str, said: str | None = None) -> None:
        marks.setdefault(target, []).append(message)
        summary.append(said or message)

    if param not in (PROMPT_VARIANTS, MODEL_AXIS, *schema.ALL_OPTION_NAMES):
        add("param", copy.NOT_SWEEPABLE.format(name=param))
    else:
        deadline = values.get("deadline")
        if not isinstance(deadline, (int, float)) or deadline <= 0:
            add("deadline", copy.BAD_DEADLINE)
        key = (values.get("visitor_key") or "").strip()
        if key:
            try:
                check_key(key)
            except errors.InvalidKeyError as exc:
                add("visitor_key", exc.remedy)
        entries = sweep_values(param, ticked, compressions, prompts)
        if not entries:
            add(values_target(param, "prompt 1"), copy.NO_VALUES)
        elif len(entries) > MAX_SWEEP_VARIANTS:
            add(values_target(param, entries[0][0]), copy.TOO_MANY.format(limit=MAX_SWEEP_VARIANTS, count=len(entries)))
        elif check is not None:
            _variant_problems(param, entries, values, check, add)
    if not marks:
        return {}
    # The summary replaces whatever "param" was marked with: it already holds those messages.
    marks["param"] = [f"{copy.NOTHING_SENT} {'; '.join(summary)}"]
    return marks


def _variant_problems(param: str, entries: list[tuple[str, dict[str, Any]]], values: dict[str, Any],
                      check: Callable[[EditRequest], Any], add: Callable[..., None]) -> None:
    """Each variant checked as it would be sent; problems grouped by what is wrong."""
    by_issue: dict[tuple[str, str], list[str]] = {}
    form = form_request(values)
    for label, changes in entries:
        try:
            check(with_overrides(form, **changes))
        except errors.ValidationError as exc:
            for issue in exc.issues:
                by_issue.setdefault((issue.param, issue.message), []).append(label)
    everyone = [label for label, _ in entries]
    images = UiImages.read(values)
    for (name, message), labels in by_issue.items():
        problem = f"{name} {message}"
        if labels == everyone and name != param:
            # The form's own problem, whatever the sweep varies: marked at its input on the Edit tab.
            widget = images.widget_for(schema.ValidationIssue(name, message)) if name in IMAGE_PARAMS \
                else name
            said = copy.EVERY_VARIANT.format(labels=", ".join(labels), problem=problem) if len(labels) > 1 \
                else f"{labels[0]}: {problem}"
            add(widget, message, said)
        else:
            for label in labels:
                add(values_target(param, label), f"{label}: {problem}")


@dataclass
class SweepTab:
    param: gr.Dropdown
    limit: gr.Slider
    ticked: gr.CheckboxGroup
    compressions: gr.Textbox
    prompts: list[gr.Textbox]
    start: gr.Button
    stop: gr.Button
    cost: gr.Markdown
    table: gr.Markdown
    grid: gr.Gallery
    run_ids: gr.State


class SweepHandlers:
    def __init__(self, service: EditService, tab: SweepTab, offered: tuple[str, ...] = tuple(schema.MODELS)) -> None:
        self.service = service
        self.tab = tab
        self.offered = offered

    def pick(self, name: str, model: str | None = None) -> list[dict]:
        choices, show_compressions, show_prompts = sweep_choices(name, model, self.offered)
        # Models Segmind has answered 410 for stay on offer, but unticked: they would only fail.
        ticked = [c for c in choices if c not in self.service.retired] if name == MODEL_AXIS else choices
        return [gr.update(choices=choices, value=ticked, visible=bool(choices)),
                gr.update(visible=show_compressions)] + [gr.update(visible=show_prompts)] * len(self.tab.prompts)

    def problems(self, name: str, picked: list[str] | None, compression_text: str | None,
                 prompt_texts: list[str], values: dict[str, Any]) -> dict[str, list[str]]:
        """Every problem, each variant checked as it would be sent (images decoded, from a cache)."""
        return sweep_problems(name, picked, compression_text, prompt_texts, values, self.service.check)

    def validate(self, owner_id: Any, name: str, picked: list[str], compression_text: str, limit_value: float,
                 *prompt_texts: str, **values: Any) -> list[dict]:
        """Gradio's validator for Run sweep: each input marked with its problems, in plain text.

        When anything is marked, the sweep does not start and its table and gallery are left as they were.
        """
        marks = self.problems(name, picked, compression_text, list(prompt_texts), values)

        def mark(target: str) -> dict:
            return gr.validate(target not in marks, "; ".join(marks.get(target, [])))

        return [gr.validate(True, ""), mark("param"), mark("ticked"), mark("compressions"), gr.validate(True, ""),
                *[mark(f"prompt-{i}") for i in range(1, len(prompt_texts) + 1)], *[mark(k) for k in values]]

    def variants(self, name: str, picked: list[str], compression_text: str, prompt_texts: list[str],
                 values: dict[str, Any]) -> list[tuple[str, EditRequest]]:
        """The labelled variants, or a plain-text gr.Error saying why there are none to run.

        The validator has said so already; this guards the sweep's own settings again, cheaply, and
        `EditService.start_sweep` checks every variant again before any starts.
        """
        marks = sweep_problems(name, picked, compression_text, prompt_texts, values, None)
        if marks:
            raise gr.Error(marks["param"][0], title="Not started", print_exception=False)
        return sweep_variants(name, picked, compression_text, prompt_texts, values)

    @staticmethod
    def cost(name: str, picked: list[str], compression_text: str, quality: str, size: str, model: str,
             width: Any, height: Any, *prompt_texts: str) -> str:
        sent = size_value({"size": size, "custom_width": width, "custom_height": height})
        return sweep_cost(name, picked, compression_text, list(prompt_texts), quality, sent, model)

    async def run(self, owner_token: str, request: gr.Request, profile: gr.OAuthProfile | None, name: str,
                  picked: list[str], compression_text: str, limit_value: float, *prompt_texts: str,
                  **values: Any) -> AsyncIterator[dict]:
        tab = self.tab
        owner_id = valid_owner(self.service, owner_token, profile)
        variants = await in_thread(self.variants, name, picked, compression_text, list(prompt_texts), values)
        key = visitor_key_from(request, values.get("visitor_key"))
        runs = await in_thread(self.service.start_sweep, variants, owner=owner_id, limit=int(limit_value),
                               visitor_key=key, deadline=float(values["deadline"]),
                               address=client_address(self.service, request), signed_in=signed_in(profile))
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
    first = schema.model().params_by_name["quality"]
    options = [(p.label, p.name) for p in schema.model().options]
    gr.Markdown("Run the **Edit** tab's image, mask, references, prompt and settings several times, varying "
                "one thing, and see the results side by side. Every variant is checked before any is sent, "
                "and each one is billed.")
    with gr.Row():
        param = gr.Dropdown([(copy.MODEL_LABEL, MODEL_AXIS), *options, ("Prompt variants", PROMPT_VARIANTS)],
                            value=first.name, label="Vary", elem_id="sweep-param")
        limit = gr.Slider(1, MAX_SWEEP_VARIANTS, value=4, step=1, label="At most this many at a time",
                          elem_id="sweep-limit")
    ticked = gr.CheckboxGroup(list(first.choices), value=list(first.choices), label="Values",
                              elem_id="sweep-values")
    compressions = gr.Textbox("25, 50, 75, 100", label="Compression values (1-100, comma-separated)",
                              visible=False, elem_id="sweep-compressions")
    prompts = [gr.Textbox(label=f"Prompt variant {i}", visible=False, lines=2, elem_id=f"sweep-prompt-{i}")
               for i in range(1, PROMPT_VARIANT_BOXES + 1)]
    with gr.Row(equal_height=True):
        start = gr.Button("Run sweep", variant="primary", elem_id="run-sweep", scale=1)
        stop = gr.Button("Stop sweep", variant="stop", elem_id="stop-sweep", scale=1)
        # The form's quality and size are not known yet: the defaults until the first change says otherwise.
        cost = gr.Markdown(sweep_cost(first.name, list(first.choices), "", [], first.default,
                                      schema.model().params_by_name["size"].default), elem_id="sweep-cost")
    table = gr.Markdown(elem_id="sweep-status")
    grid = gr.Gallery(label="Sweep results", columns=4, height=420, elem_id="sweep-gallery",
                      allow_preview=True, object_fit="contain")
    return SweepTab(param, limit, ticked, compressions, prompts, start, stop, cost, table, grid, gr.State([]))


def wire_sweep_tab(tab: SweepTab, handlers: SweepHandlers, form: Form, owner: gr.BrowserState,
                   concurrency: dict[str, Any]) -> None:
    tab.param.change(handlers.pick, [tab.param, form.model], [tab.ticked, tab.compressions, *tab.prompts],
                     queue=False, api_visibility="private")
    quality, size = form.widgets["quality"], form.widgets["size"]
    gr.on([tab.param.change, tab.ticked.change, tab.compressions.change, quality.change, size.change,
           form.model.change, form.custom_width.change, form.custom_height.change,
           *[box.change for box in tab.prompts]], handlers.cost,
          inputs=[tab.param, tab.ticked, tab.compressions, quality, size, form.model, form.custom_width,
                  form.custom_height, *tab.prompts], outputs=tab.cost,
          queue=False, show_progress="hidden", api_visibility="private")
    # The validator runs first: a sweep with any bad variant never starts, and its outputs are left alone.
    sweep_event = tab.start.click(
        handlers.run, inputs=[owner, tab.param, tab.ticked, tab.compressions, tab.limit, *tab.prompts],
        inputs_kwargs=form.kwargs, outputs=[tab.table, tab.grid, tab.run_ids], validator=handlers.validate,
        api_name="sweep", api_visibility="undocumented", **concurrency)
    tab.stop.click(handlers.stop_all, tab.run_ids, tab.table, cancels=[sweep_event], queue=False,
                   api_visibility="private")
