"""The Sweep tab: the Edit tab's request over a grid of one or two axes, one job per cell.

The grid itself (axes, cells, labels, bounds, prices) is `components.app.grid`; this module reads it
from the widgets, checks every cell as it would be sent, asks before a grid that costs more than the
deployer's SWEEP_CONFIRM_USD, and draws the labelled table that fills in as the jobs finish.
"""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, AsyncIterator, Callable, Sequence
from urllib.parse import quote

import gradio as gr

from components.api import errors, schema
from components.api.transport import check_key
from components.app.backend import BackendKind
from components.app.grid import (
    MAX_AXIS_VALUES, MAX_GRID_CELLS, MODEL_AXIS, NO_AXIS, PROMPT_AXIS, TAKES_AXIS, Axis, AxisChoice, AxisKind,
    AxisValue, Cell, Grid, GridProblem, Issue, Side, axis_kind, grid_layout, is_typed, option_choices, read_grid,
)
from components.app.history import HistoryStore
from components.app.runs import Run
from components.app.service import EditService
from components.app.settings import AppSettings
from components.app.status import RunStatus
from components.media.images import EditRequest
from components.ui import copy
from components.ui.errors import in_thread
from components.ui.form import (
    IMAGE_PARAMS, Form, UiImages, chosen_model, client_address, first_image_size, form_request, option_values,
    signed_in, valid_owner, visitor_key_from,
)
from components.ui.serving import servable, servable_unchanging
from components.ui.models import lifecycle
from components.ui.status import money, pill, seconds

PROMPT_VARIANT_BOXES = 4
SWEEP_REFRESH_SECONDS = 0.5
DEFAULT_AT_A_TIME = 4
# The typed values an axis starts with, for a numeric option: four steps across its range.
NUMBER_STEPS = 4


class AxisValues(gr.CheckboxGroup):
    """The ticked values of an axis, taken as sent rather than checked against the choices on the way in.

    The choices follow the axis picked in the page, and Gradio checks a value against the choices its
    session last saw, so a program calling /sweep could never tick a model. The grid checks every value
    itself (`read_grid`, then every cell against its own model) and says what is wrong in words.
    """

    is_template = True  # drawn by the page as the CheckboxGroup it is

    def preprocess(self, payload: Any) -> list[Any]:
        return [value for value in payload or [] if isinstance(value, (str, int, float))]


@dataclass
class AxisWidgets:
    side: Side
    name: gr.Dropdown
    ticked: AxisValues
    typed: gr.Textbox

    def key(self, part: str) -> str:
        """How validation marks name this axis's inputs: "x-name", "y-ticked", …"""
        return f"{self.side.value}-{part}"


@dataclass
class SweepTab:
    columns: AxisWidgets
    rows: AxisWidgets
    limit: gr.Slider
    prompts: list[gr.Textbox]
    start: gr.Button
    stop: gr.Button
    cost: gr.Markdown
    confirm: gr.Button
    notice: gr.Markdown
    confirmed: gr.Number  # hidden: what a program agrees to spend on a grid (the page's Run always sends 0)
    quote: gr.State       # the estimate the Confirm button shows, sent with its click
    table: gr.HTML
    gallery: gr.Gallery
    run_ids: gr.State
    layout: gr.State      # the running grid's axes and the run in each cell (grid.GridLayout.as_dict)


# Choosing the axes ---------------------------------------------------------------------------------------


def axis_choices(rows: bool = False) -> list[tuple[str, str]]:
    """The "Columns vary" / "Rows vary" choices: the model, every option, prompt variants, takes."""
    options = [(_option_label(name), name) for name in schema.ALL_OPTION_NAMES]
    choices = [(copy.MODEL_LABEL, MODEL_AXIS), *options, (copy.PROMPT_AXIS_CHOICE, PROMPT_AXIS),
               (copy.TAKES_AXIS_CHOICE, TAKES_AXIS)]
    return [(copy.NO_ROWS_CHOICE, NO_AXIS), *choices] if rows else choices


def _option_label(name: str) -> str:
    return next(m.params_by_name[name].label for m in schema.MODELS.values() if name in m.params_by_name)


def axis_title(name: str) -> str:
    """An axis as a table's corner names it: "Quality", "Model", "Prompt", "Take"."""
    if name in schema.ALL_OPTION_NAMES:
        return _option_label(name)
    return copy.MODEL_LABEL if name == MODEL_AXIS else copy.AXIS_TITLES.get(name, "")


@dataclass(frozen=True)
class AxisInputs:
    """How an axis's value inputs look for what it varies."""

    choices: list[str]
    ticked: list[str]
    typed_label: str | None   # None: no typed values
    typed_value: str = ""
    note: str = ""   # why some choices start unticked


def axis_inputs(name: str, model: str | None = None, offered: Sequence[str] = tuple(schema.MODELS),
                retired: Any = (), today: date | None = None) -> AxisInputs:
    """The ticked choices (at most an axis's worth) or the typed box. Every model is offered; those Segmind
    answered 410 for (`retired`) or past OpenAI's shutdown date on `today` start unticked: a cell on them
    would most likely only fail."""
    kind = axis_kind(name)
    if kind is AxisKind.MODEL:
        day = today or date.today()
        why = {s: reason for s in offered if (reason := unticked_reason(s, retired, day))}
        running = [s for s in offered if s not in why]
        note = copy.MODELS_UNTICKED.format(models="; ".join(f"{s} ({reason})" for s, reason in why.items())) \
            if why else ""
        return AxisInputs(list(offered), running[:MAX_AXIS_VALUES], None, note=note)
    if kind is AxisKind.TAKES:
        return AxisInputs([], [], copy.TYPED_TAKES.format(limit=MAX_AXIS_VALUES), copy.DEFAULT_TAKES)
    if kind is AxisKind.OPTION and is_typed(name, model):
        spec = schema.model_or_default(model).params_by_name[name]
        step = (spec.maximum - spec.minimum) / NUMBER_STEPS
        numbers = [round(spec.minimum + step * n) for n in range(1, NUMBER_STEPS + 1)]
        label = copy.TYPED_NUMBERS.format(label=spec.label, minimum=spec.minimum, maximum=spec.maximum)
        return AxisInputs([], [], label, ", ".join(map(str, numbers)))
    if kind is AxisKind.OPTION:
        spec = schema.model_or_default(model).params_by_name.get(name)
        choices = list(spec.choices) if spec else list(option_choices(name))
        return AxisInputs(choices, choices[:MAX_AXIS_VALUES], None)
    return AxisInputs([], [], None)  # the prompt variant boxes, or no axis


def unticked_reason(slug: str, retired: Any, day: date) -> str:
    """Why a Model axis leaves this model unticked ("" when it does not): Segmind's 410, or OpenAI's date."""
    if slug in retired:
        return copy.UNTICKED_410
    return lifecycle(schema.model(slug), day) if schema.model(slug).shut_down_by(day) else ""


# Reading the grid and checking it --------------------------------------------------------------------------


def choice(name: Any, ticked: Any, typed: Any) -> AxisChoice:
    return AxisChoice(str(name or NO_AXIS), tuple(ticked or ()), str(typed or ""))


def cell_request(form: EditRequest, cell: Cell) -> EditRequest:
    """The form's request as a cell sends it: the images are the same objects (nothing is read again)."""
    return replace(form, prompt=form.prompt if cell.prompt is None else cell.prompt, options=dict(cell.options),
                   model=cell.model)


def problem_text(problem: GridProblem) -> str:
    texts = {Issue.NOT_AN_AXIS: copy.NOT_AN_AXIS, Issue.NO_COLUMNS: copy.NO_COLUMNS, Issue.SAME_AXIS: copy.SAME_AXIS,
             Issue.NO_VALUES: copy.NO_VALUES, Issue.BAD_TAKES: copy.BAD_TAKES, Issue.NOT_OFFERED: copy.NOT_OFFERED,
             Issue.TOO_MANY_VALUES: copy.TOO_MANY_VALUES, Issue.TOO_MANY_CELLS: copy.TOO_MANY_CELLS}
    return texts[problem.issue].format(name=problem.name, count=problem.count, limit=problem.limit)


def values_target(side: Side, name: str, label: str = "", model: str | None = None) -> str:
    """Which input holds an axis's value: its ticked values, its typed box, or a prompt box."""
    if axis_kind(name) is AxisKind.PROMPT:
        return f"prompt-{label.rpartition(' ')[2] or 1}"
    return f"{side.value}-{'typed' if is_typed(name, model) else 'ticked'}"


def _problem_target(problem: GridProblem, grid: Grid, choices: dict[Side, AxisChoice], model: str | None) -> str:
    if problem.issue in (Issue.NOT_AN_AXIS, Issue.SAME_AXIS, Issue.NO_COLUMNS):
        return f"{problem.side.value}-name"
    if problem.issue is Issue.TOO_MANY_CELLS:
        side = Side.ROWS if grid.rows.kind is not AxisKind.NONE else Side.COLUMNS
        return values_target(side, choices[side].name, model=model)
    return values_target(problem.side, choices[problem.side].name, model=model)


def sweep_problems(columns: AxisChoice, rows: AxisChoice, prompts: Sequence[str], values: dict[str, Any],
                   check: Callable[[EditRequest], Any] | None, offered: Sequence[str] = tuple(schema.MODELS),
                   max_cells: int = MAX_GRID_CELLS) -> dict[str, list[str]]:
    """Everything that stops a grid, in plain text, by the input it belongs to; empty when it may start.

    `check` checks one cell's request as it would be sent (raising ValidationError); without it only the
    grid's own settings are checked.

    Keys are "x-name", "x-ticked", "x-typed" (the columns' inputs), "y-…" (the rows'), "prompt-<n>", or the
    form's input names. A problem every cell shares belongs to the form: it is marked at the form's input.
    One only some cells have is marked at the values of the axis it comes from (the option's axis, else the
    model's). Each message names its cells, and "x-name" (always in view on the Sweep tab) carries the whole
    list.
    """
    marks: dict[str, list[str]] = {}
    summary: list[str] = []

    def add(target: str, message: str, said: str | None = None) -> None:
        marks.setdefault(target, []).append(message)
        summary.append(said or message)

    deadline = values.get("deadline")
    if not isinstance(deadline, (int, float)) or deadline <= 0:
        add("deadline", copy.BAD_DEADLINE)
    key = (values.get("visitor_key") or "").strip()
    if key:
        try:
            check_key(key)
        except errors.InvalidKeyError as exc:
            add("visitor_key", exc.remedy)
    grid, problems = read_grid(columns, rows, prompts, offered, max_cells)
    model = chosen_model(values).slug
    for problem in problems:
        add(_problem_target(problem, grid, {Side.COLUMNS: columns, Side.ROWS: rows}, model), problem_text(problem))
    if not problems and check is not None:
        _cell_problems(grid, values, check, add)
    if not marks:
        return {}
    # The summary replaces whatever "x-name" was marked with: it already holds those messages.
    marks["x-name"] = [f"{copy.NOTHING_SENT} {'; '.join(summary)}"]
    return marks


def _cell_problems(grid: Grid, values: dict[str, Any], check: Callable[[EditRequest], Any],
                   add: Callable[..., None]) -> None:
    """Each cell checked as it would be sent, on its own model; problems grouped by what is wrong."""
    form = form_request(values)
    cells = grid.cells(form.model, form.options)
    by_issue: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        try:
            check(cell_request(form, cell))
        except errors.ValidationError as exc:
            for issue in exc.issues:
                by_issue.setdefault((issue.param, issue.message), []).append(cell)
    images = UiImages.read(values)
    for (name, message), hit in by_issue.items():
        labels = [cell.label for cell in hit]
        problem = f"{name} {message}"
        source = grid.axis_named(name)
        if len(hit) == len(cells) and source is None:
            # The form's own problem, whatever the grid varies: marked at its input on the Edit tab.
            widget = images.widget_for(schema.ValidationIssue(name, message)) if name in IMAGE_PARAMS else name
            said = copy.EVERY_VARIANT.format(labels=", ".join(labels), problem=problem) if len(labels) > 1 \
                else f"{labels[0]}: {problem}"
            add(widget, message, said)
            continue
        side, axis = source or grid.axis_named(MODEL_AXIS) or (Side.COLUMNS, grid.columns)
        for cell in hit:
            value = axis.values[cell.column if side is Side.COLUMNS else cell.row]
            add(values_target(side, axis.name, value.label, form.model), f"{cell.label}: {problem}")


# The price, before anything is sent ------------------------------------------------------------------------


def grid_cost(cells: Sequence[Cell], shape: tuple[int, int]) -> str:
    """ "**6 jobs** (3 columns × 2 rows) · estimated **$0.64** ($0.011 to $0.211 each)"."""
    prices = [cell.estimated_cost for cell in cells]
    low, high = min(prices), max(prices)
    each = copy.GRID_EACH_SAME.format(price=money(low)) if low == high else \
        copy.GRID_EACH_RANGE.format(low=money(low), high=money(high))
    columns, rows = shape
    layout = f"{columns} × {rows}" if rows > 1 else f"{columns} column{'s' if columns != 1 else ''}"
    return copy.GRID_COST.format(jobs=copy.jobs(len(cells)), shape=layout, total=money(sum(prices)), each=each)


def grid_progress(runs: Sequence[Run], elapsed: float, simulated: bool) -> str:
    """The line over a running grid: cells done of all, what they cost so far, and the time; once all are done,
    how it ended."""
    done = [run for run in runs if run.done]
    completed = sum(run.record.status is RunStatus.COMPLETED for run in done)
    failed = len(done) - completed
    words = {"cells": len(runs), "completed": completed, "elapsed": seconds(elapsed),
             "cost": money(sum(run.record.cost or 0.0 for run in done)),
             "failed": copy.GRID_FAILED_PART.format(count=failed) if failed else ""}
    if len(done) < len(runs):
        detail = copy.GRID_PROGRESS_DETAIL.format(**words) if done else ""
        return f"{pill(RunStatus.PROCESSING)} " + copy.GRID_PROGRESS.format(done=len(done), detail=detail, **words)
    ended = RunStatus.COMPLETED if completed else RunStatus.FAILED
    return f"{pill(ended)} " + copy.GRID_FINISHED.format(
        simulated=copy.GRID_SIMULATED_PART if simulated else "", **words)


def above(total: float, amount: float) -> bool:
    """Whether a grid's estimated total is over an amount (the threshold, or what was confirmed), compared
    to the hundredth of a cent the page shows."""
    return round(total, 4) > amount


def sweep_cost(columns: AxisChoice, rows: AxisChoice, prompts: Sequence[str], values: dict[str, Any], *,
               threshold: float, simulated: bool, offered: Sequence[str] = tuple(schema.MODELS),
               max_cells: int = MAX_GRID_CELLS) -> str:
    """The line under Run: how many jobs, their estimated cost, and whether Run will ask first.

    `values` holds the form's model and options (a custom size as width and height) and its photo and
    references; each cell is priced on its own model, at the options it is sent with, `auto` at the size
    the first image's shape picks.
    """
    grid, problems = read_grid(columns, rows, prompts, offered, max_cells)
    if any(p.issue in (Issue.NO_VALUES, Issue.NO_COLUMNS, Issue.NOT_AN_AXIS, Issue.BAD_TAKES) for p in problems) \
            or not grid.size:
        return copy.NO_COST_YET + "".join(f" {problem_text(p)}" for p in problems if p.issue is Issue.BAD_TAKES)
    cells = grid.cells(chosen_model(values).slug, option_values(values), first_image_size(values))
    parts = [grid_cost(cells, grid.shape), f"{copy.COST_NOTE}."]
    if above(sum(c.estimated_cost for c in cells), threshold):
        parts.append(copy.CONFIRM_ABOVE.format(threshold=money(threshold), run=copy.RUN_GRID))
    if simulated:
        parts.append(copy.COST_SIMULATED)
    parts += [problem_text(p) for p in problems]
    return " ".join(parts)


# The table --------------------------------------------------------------------------------------------------


def file_url(path: str | None) -> str | None:
    """A served copy's address, relative to the page (the app may sit under a proxy's path)."""
    return None if path is None else f"gradio_api/file={quote(path, safe='/')}"


@dataclass
class Pictures:
    """Each finished run's served copies, made once: (full-size result, thumbnail for the table)."""

    history: HistoryStore | None = None
    shown: dict[str, tuple[str, str]] = field(default_factory=dict)

    def of(self, run: Run) -> tuple[str, str] | None:
        if not run.result_path:
            return None
        if run.run_id not in self.shown:
            full = servable(run.result_path)
            try:
                thumb = self.history.thumbnail(run.record) if self.history is not None else None
            except (OSError, ValueError):
                thumb = None  # an unreadable result: the table shows the full-size copy instead
            self.shown[run.run_id] = (full, servable_unchanging(thumb) if thumb is not None else full)
        return self.shown[run.run_id]


def grid_table(grid: Grid, cells: Sequence[Cell], runs: Sequence[Run], pictures: Pictures) -> str:
    """The labelled table of the grid's cells: each one's picture when it has one, its state, time, cost,
    request id and any error. It scrolls sideways on a narrow screen rather than squashing the pictures."""
    has_rows = grid.rows.kind is not AxisKind.NONE
    placed = {(cell.row, cell.column): (cell, run) for cell, run in zip(cells, runs, strict=True)}
    head = [f'<th class="grid-corner" scope="col">{html.escape(axis_title(grid.rows.name))} ↓ · '
            f'{html.escape(axis_title(grid.columns.name))} →</th>'] if has_rows else []
    # With two axes the corner names them, and a header needs only its value ("low", not "quality=low").
    def short(axis: Axis, value: AxisValue) -> str:
        return value.header.removeprefix(f"{axis.name}=") if has_rows else value.header

    head += [f'<th scope="col">{html.escape(short(grid.columns, value))}</th>' for value in grid.columns.values]
    body = []
    for row, value in enumerate(grid.rows.values):
        line = [f'<th scope="row">{html.escape(short(grid.rows, value))}</th>'] if has_rows else []
        line += [_cell_html(*placed[(row, column)], pictures) for column in range(len(grid.columns.values))]
        body.append(f"<tr>{''.join(line)}</tr>")
    return (f'<div class="grid-scroll"><table class="sweep-grid"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _cell_html(cell: Cell, run: Run, pictures: Pictures) -> str:
    update, record = run.latest, run.record
    status = update.status if update else RunStatus.WAITING
    elapsed = record.total_time if run.done else (update.elapsed if update else 0.0)
    label = html.escape(cell.label)
    shown = pictures.of(run)
    if shown:
        full, thumb = shown
        picture = (f'<a href="{html.escape(file_url(full))}" target="_blank" rel="noopener">'
                   f'<img src="{html.escape(file_url(thumb))}" alt="{label}"></a>')
    else:
        picture = f'<div class="grid-empty">{pill(status)}</div>'
    parts = [picture, f'<div class="grid-meta">{pill(status)} {seconds(elapsed)} · {money(record.cost)}</div>']
    if cell.carried:
        parts.append(f'<div class="grid-note">({html.escape(cell.carried)})</div>')
    if record.request_id:
        parts.append(f'<div class="grid-id">{html.escape(record.request_id)}</div>')
    if record.error:
        parts.append(f'<div class="grid-error">{html.escape(record.error)}</div>')
    return f'<td class="grid-cell" title="{label}" data-run="{html.escape(run.run_id)}">{"".join(parts)}</td>'


def grid_gallery(runs: Sequence[Run], pictures: Pictures) -> list[tuple[str, str]]:
    """Finished cells' results at full size, labelled, for the lightbox under the table."""
    items = []
    for run in runs:
        shown = pictures.of(run)
        if shown:
            record = run.record
            items.append((shown[0], f"{record.label} · {seconds(record.total_time)} · {money(record.cost)}"))
    return items


# The handlers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A grid ready to start: its cells, in order, and each one's request."""

    grid: Grid
    cells: list[Cell]
    requests: list[EditRequest]

    @property
    def total(self) -> float:
        return sum(cell.estimated_cost for cell in self.cells)

    @property
    def variants(self) -> list[tuple[str, EditRequest]]:
        return [(cell.label, request) for cell, request in zip(self.cells, self.requests)]


def plan_grid(x: AxisChoice, y: AxisChoice, prompts: Sequence[str], values: dict[str, Any],
              offered: Sequence[str] = tuple(schema.MODELS), max_cells: int = MAX_GRID_CELLS) -> Plan:
    """The grid's cells and requests, or a plain-text gr.Error saying why there are none to run.

    The validator has said so already; this guards the grid's own settings again, cheaply, and
    `EditService.start_sweep` checks every cell again before any starts.
    """
    marks = sweep_problems(x, y, prompts, values, None, offered, max_cells)
    if marks:
        raise gr.Error(marks["x-name"][0], title="Not started", print_exception=False)
    grid, _ = read_grid(x, y, prompts, offered, max_cells)
    form = form_request(values)  # the images are read once, for every cell
    cells = grid.cells(form.model, form.options, first_image_size(values))
    return Plan(grid, cells, [cell_request(form, cell) for cell in cells])


class SweepHandlers:
    def __init__(self, service: EditService, tab: SweepTab, offered: tuple[str, ...] = tuple(schema.MODELS), *,
                 confirm_usd: float = AppSettings.sweep_confirm_usd) -> None:
        self.service = service
        self.tab = tab
        self.offered = offered
        self.confirm_usd = confirm_usd
        # Every cell is a live run from the moment the grid starts: a grid larger than a browser's (or an
        # address's) share could never start.
        self.max_cells = min(MAX_GRID_CELLS, service.max_runs_per_owner, service.max_runs_per_address)

    def pick(self, name: str, other: str, model: str | None = None) -> list[dict]:
        """An axis's value inputs for what it now varies; the prompt boxes show when either axis is prompts."""
        shown = axis_inputs(name, model, self.offered, self.service.retired, self.service.today())
        prompts = PROMPT_AXIS in (name, other)
        return [gr.update(choices=shown.choices, value=shown.ticked, visible=bool(shown.choices), info=shown.note),
                gr.update(visible=shown.typed_label is not None, label=shown.typed_label or "",
                          value=shown.typed_value)] + [gr.update(visible=prompts)] * len(self.tab.prompts)

    def simulated(self, visitor_key: str | None) -> bool:
        """Whether the built-in emulator answers these runs (no key of the deployer's, none of the visitor's)."""
        return self.service.backend.kind is BackendKind.EMULATOR and not self.service.backend.own_key(visitor_key)

    def cost(self, x_name: str, x_ticked: list, x_typed: str, y_name: str, y_ticked: list, y_typed: str,
             *prompt_texts: str, **values: Any) -> list[Any]:
        """The price line as the axes or the form change; any confirmation asked for before is withdrawn."""
        text = sweep_cost(choice(x_name, x_ticked, x_typed), choice(y_name, y_ticked, y_typed), list(prompt_texts),
                          values, threshold=self.confirm_usd, simulated=self.simulated(values.get("visitor_key")),
                          offered=self.offered, max_cells=self.max_cells)
        return [text, gr.update(visible=False), "", None]

    def problems(self, x: AxisChoice, y: AxisChoice, prompt_texts: list[str],
                 values: dict[str, Any]) -> dict[str, list[str]]:
        """Every problem, each cell checked as it would be sent (images decoded, from a cache)."""
        return sweep_problems(x, y, prompt_texts, values, self.service.check, self.offered, self.max_cells)

    def validate(self, owner_token: Any, confirmed: Any, x_name: str, x_ticked: list, x_typed: str, y_name: str,
                 y_ticked: list, y_typed: str, limit_value: float, *prompt_texts: str, **values: Any) -> list[dict]:
        """Gradio's validator for Run and Confirm: each input marked with its problems, in plain text.

        When anything is marked, the grid does not start and its table and gallery are left as they were.
        """
        marks = self.problems(choice(x_name, x_ticked, x_typed), choice(y_name, y_ticked, y_typed),
                              list(prompt_texts), values)

        def mark(target: str) -> dict:
            return gr.validate(target not in marks, "; ".join(marks.get(target, [])))

        fine = gr.validate(True, "")
        axes = [mark(axis.key(part)) for axis in (self.tab.columns, self.tab.rows)
                for part in ("name", "ticked", "typed")]
        return [fine, fine, *axes, fine, *[mark(f"prompt-{i}") for i in range(1, len(prompt_texts) + 1)],
                *[mark(k) for k in values]]

    def plan(self, x: AxisChoice, y: AxisChoice, prompt_texts: list[str], values: dict[str, Any]) -> Plan:
        return plan_grid(x, y, prompt_texts, values, self.offered, self.max_cells)

    def asks(self, total: float, confirmed: Any) -> bool:
        """Whether a grid costing `total` waits for a confirmation: above the threshold, and above what was
        confirmed (an amount as shown, to the cent's hundredth)."""
        agreed = confirmed if isinstance(confirmed, (int, float)) else 0.0
        return above(total, self.confirm_usd) and above(total, agreed)

    def ask(self, plan: Plan, visitor_key: str | None) -> dict:
        tab, total = self.tab, plan.total
        notice = copy.CONFIRM_ASK.format(jobs=copy.jobs(len(plan.cells)), total=money(total),
                                         threshold=money(self.confirm_usd))
        if self.simulated(visitor_key):
            notice += copy.CONFIRM_SIMULATED
        button = copy.CONFIRM_BUTTON.format(jobs=copy.jobs(len(plan.cells)), total=money(total))
        return {tab.notice: notice, tab.confirm: gr.update(value=button, visible=True), tab.quote: total}

    async def run(self, owner_token: str, request: gr.Request, profile: gr.OAuthProfile | None, confirmed: Any,
                  x_name: str, x_ticked: list, x_typed: str, y_name: str, y_ticked: list, y_typed: str,
                  limit_value: float, *prompt_texts: str, **values: Any) -> AsyncIterator[dict]:
        """Start the grid (or, above the deployer's threshold and unconfirmed, ask first and send nothing),
        then redraw its table as the cells finish."""
        tab = self.tab
        owner_id = valid_owner(self.service, owner_token, profile)
        plan = await in_thread(self.plan, choice(x_name, x_ticked, x_typed), choice(y_name, y_ticked, y_typed),
                               list(prompt_texts), values)
        key = visitor_key_from(request, values.get("visitor_key"))
        address = client_address(self.service, request)
        if self.asks(plan.total, confirmed):
            # Asked only of a grid that could start now: a confirmation that ends in "too many runs" is no use.
            await in_thread(self.service.check_capacity, owner_id, len(plan.cells), address=address)
            yield self.ask(plan, key)
            return
        runs = await in_thread(self.service.start_sweep, plan.variants, owner=owner_id, limit=int(limit_value),
                               visitor_key=key, deadline=float(values["deadline"]), address=address,
                               signed_in=signed_in(profile), parent=values.get("parent") or None)
        ids = [run.run_id for run in runs]
        layout = grid_layout(plan.grid, plan.cells, ids).as_dict()
        pictures = Pictures(self.service.history)
        started = {tab.confirm: gr.update(visible=False), tab.quote: None}
        begun = time.monotonic()
        # Watching ends when the tab closes; the runs go on and land in the history.
        while True:
            # Read before drawing: a run that ends while the table is drawn gets one more, final, redraw.
            finished = all(run.done for run in runs)
            table, gallery = await in_thread(self.draw, plan, runs, pictures)
            progress = grid_progress(runs, time.monotonic() - begun, self.simulated(key))
            yield {tab.table: table, tab.gallery: gallery, tab.run_ids: ids, tab.layout: layout,
                   tab.notice: progress, **started}
            started = {}
            if finished:
                return
            await asyncio.sleep(SWEEP_REFRESH_SECONDS)

    @staticmethod
    def draw(plan: Plan, runs: list[Run], pictures: Pictures) -> tuple[str, list[tuple[str, str]]]:
        """The table and the gallery (thumbnails are made once, off the event loop)."""
        return grid_table(plan.grid, plan.cells, runs, pictures), grid_gallery(runs, pictures)

    def stop_all(self, ids: list[str]) -> str:
        stopped = sum(self.service.stop(run_id) for run_id in ids or [])
        return f"{pill(RunStatus.STOPPED)} {copy.GRID_STOPPED.format(count=stopped)}"


# Building and wiring ------------------------------------------------------------------------------------------


def build_axis(side: Side, label: str, values_label: str, name: str) -> AxisWidgets:
    shown = axis_inputs(name)
    dropdown = gr.Dropdown(axis_choices(rows=side is Side.ROWS), value=name, label=label,
                           elem_id=f"sweep-{side.value}-name")
    ticked = AxisValues(shown.choices, value=shown.ticked, label=values_label, visible=bool(shown.choices),
                        elem_id=f"sweep-{side.value}-ticked")
    typed = gr.Textbox(shown.typed_value, label=shown.typed_label or "", visible=shown.typed_label is not None,
                       elem_id=f"sweep-{side.value}-typed")
    return AxisWidgets(side, dropdown, ticked, typed)


def build_sweep_tab(confirm_usd: float = AppSettings.sweep_confirm_usd) -> SweepTab:
    first = schema.model().params_by_name["quality"]
    gr.Markdown(copy.SWEEP_INTRO)
    with gr.Row():
        with gr.Column():
            columns = build_axis(Side.COLUMNS, copy.COLUMNS_LABEL, copy.COLUMN_VALUES, first.name)
        with gr.Column():
            rows = build_axis(Side.ROWS, copy.ROWS_LABEL, copy.ROW_VALUES, NO_AXIS)
    prompts = [gr.Textbox(label=copy.PROMPT_VARIANT.format(n=i), visible=False, lines=2, elem_id=f"sweep-prompt-{i}")
               for i in range(1, PROMPT_VARIANT_BOXES + 1)]
    limit = gr.Slider(1, MAX_GRID_CELLS, value=DEFAULT_AT_A_TIME, step=1, label=copy.AT_A_TIME, elem_id="sweep-limit")
    with gr.Row(equal_height=True):
        start = gr.Button(copy.RUN_GRID, variant="primary", elem_id="run-sweep", scale=1)
        stop = gr.Button(copy.STOP_GRID, variant="stop", elem_id="stop-sweep", scale=1)
    # The form's model and options are not known yet: the defaults until the first change says otherwise.
    defaults = {"model": schema.DEFAULT_MODEL, **schema.model().option_defaults()}
    cost = gr.Markdown(sweep_cost(AxisChoice(first.name, first.choices), AxisChoice(NO_AXIS), [], defaults,
                                  threshold=confirm_usd, simulated=False), elem_id="sweep-cost")
    # The question and its button, under the price they are about (both empty until Run asks).
    notice = gr.Markdown(elem_id="sweep-notice")
    confirm = gr.Button(visible=False, variant="primary", elem_id="confirm-sweep")
    confirmed = gr.Number(0, visible=False, label="confirmed_usd", elem_id="sweep-confirmed")
    table = gr.HTML(elem_id="sweep-grid")
    gallery = gr.Gallery(label=copy.GRID_RESULTS, columns=4, height=420, elem_id="sweep-gallery",
                         allow_preview=True, object_fit="contain")
    return SweepTab(columns, rows, limit, prompts, start, stop, cost, confirm, notice, confirmed, gr.State(None),
                    table, gallery, gr.State([]), gr.State(None))


def wire_sweep_tab(tab: SweepTab, handlers: SweepHandlers, form: Form, owner: gr.BrowserState,
                   concurrency: dict[str, Any], edit_inputs: dict[str, Any] | None = None) -> None:
    """`edit_inputs`: the Edit tab's inputs a grid runs with besides the form (keeping the original outside
    the mask, its feather, and the run the photo was continued from)."""
    edit_inputs = edit_inputs or {}
    for axis, other in ((tab.columns, tab.rows), (tab.rows, tab.columns)):
        axis.name.change(handlers.pick, [axis.name, other.name, form.model], [axis.ticked, axis.typed, *tab.prompts],
                         queue=False, api_visibility="private")
    axes = [tab.columns.name, tab.columns.ticked, tab.columns.typed, tab.rows.name, tab.rows.ticked, tab.rows.typed]
    changes = [*(widget.change for widget in axes), *(box.change for box in tab.prompts),
               *(widget.change for widget in form.option_kwargs.values())]
    gr.on(changes, handlers.cost, inputs=[*axes, *tab.prompts], inputs_kwargs=form.option_kwargs,
          outputs=[tab.cost, tab.confirm, tab.notice, tab.quote], queue=False, show_progress="hidden",
          api_visibility="private")
    outputs = [tab.notice, tab.table, tab.gallery, tab.confirm, tab.run_ids, tab.layout, tab.quote]
    # The validator runs first: a grid with any bad cell never starts, and its outputs are left alone.
    # Run always agrees to nothing (the page's hidden amount stays 0): above the threshold it asks, and
    # Confirm sends the amount it showed. A program passes the amount it agrees to.
    grid_event = tab.start.click(
        handlers.run, inputs=[owner, tab.confirmed, *axes, tab.limit, *tab.prompts],
        inputs_kwargs={**form.kwargs, **edit_inputs},
        outputs=outputs, validator=handlers.validate, api_name="sweep", api_visibility="undocumented", **concurrency)
    confirm_event = tab.confirm.click(
        handlers.run, inputs=[owner, tab.quote, *axes, tab.limit, *tab.prompts],
        inputs_kwargs={**form.kwargs, **edit_inputs},
        outputs=outputs, validator=handlers.validate, api_visibility="private", **concurrency)
    tab.stop.click(handlers.stop_all, tab.run_ids, tab.notice, cancels=[grid_event, confirm_event], queue=False,
                   api_visibility="private")
