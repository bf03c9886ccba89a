"""A grid of runs: the edit form's request over two axes, one job per cell.

The columns vary one thing: an option of the form's model, the model, the prompt
(variants typed in), or nothing at all but the take (the same request run again:
GPT Image takes no seed, so every take is a new draw). The rows vary another thing,
or nothing: a one-axis sweep is the grid whose rows axis is NO_AXIS, one row.

Everything here is data a test can build without a page: the axes read from what a
person ticked and typed, the cells with their labels, the model and options each is
sent with and its estimated price, the problems that stop a grid, and its layout
with the run filling each cell (for the table, and for anything that exports one).
The words around these are the UI's.

Bounds. Every cell is a live run counted against its browser's share from the
moment the grid starts, waiting or not (EditService.start_sweep), so a grid has at
most MAX_RUNS_PER_OWNER cells: a larger one could never start. An axis has at most
six values: quality and the models have four, output format three, and seven
columns of pictures no longer fit a laptop's width readably (a phone scrolls).
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from components.api import schema
from components.app.service import MAX_RUNS_PER_OWNER

NO_AXIS = "none"
MODEL_AXIS = "model"
PROMPT_AXIS = "prompt"
TAKES_AXIS = "takes"

MAX_AXIS_VALUES = 6
MAX_GRID_CELLS = MAX_RUNS_PER_OWNER
# How much of a prompt variant its header shows.
PROMPT_HEADER_CHARS = 40


class AxisKind(enum.Enum):
    NONE = "none"        # the rows of a one-axis grid: one row, nothing varied
    OPTION = "option"    # one of the model's options: values ticked, or numbers typed for a numeric one
    MODEL = "model"      # the offered models, each cell checked against its own model's parameters
    PROMPT = "prompt"    # prompt variants, typed
    TAKES = "takes"      # the same request N times


def axis_kind(name: object) -> AxisKind | None:
    """What an axis called `name` varies; None for a name no axis has."""
    special = {NO_AXIS: AxisKind.NONE, MODEL_AXIS: AxisKind.MODEL, PROMPT_AXIS: AxisKind.PROMPT,
               TAKES_AXIS: AxisKind.TAKES}
    if isinstance(name, str) and name in special:
        return special[name]
    return AxisKind.OPTION if name in schema.ALL_OPTION_NAMES else None


def is_typed(name: str, model: str | None = None) -> bool:
    """Whether an axis's values are typed (numbers, or a number of takes) rather than ticked."""
    if axis_kind(name) is AxisKind.TAKES:
        return True
    if axis_kind(name) is not AxisKind.OPTION:
        return False
    spec = schema.model_or_default(model).params_by_name.get(name)
    return spec is not None and not spec.choices


class Side(enum.Enum):
    COLUMNS = "x"
    ROWS = "y"


@dataclass(frozen=True)
class AxisChoice:
    """What the page says about one axis: what it varies, the values ticked, and the text typed."""

    name: str
    ticked: tuple[Any, ...] = ()
    typed: str = ""


@dataclass(frozen=True)
class AxisValue:
    """One value of an axis: its part of a run's label, and what it changes in the request."""

    label: str                                   # "quality=low", "model=gpt-image-2", "prompt 2", "take 3"
    changes: Mapping[str, Any] = field(default_factory=dict)  # {"quality": "low"}, {"model": slug}, {"prompt": t}

    @property
    def header(self) -> str:
        """The label as a table's header shows it: a prompt variant with the start of its text."""
        prompt = self.changes.get("prompt")
        if prompt is None:
            return self.label
        text = " ".join(prompt.split())
        return f"{self.label}: {text[:PROMPT_HEADER_CHARS]}{'…' if len(text) > PROMPT_HEADER_CHARS else ''}"


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[AxisValue, ...]

    @property
    def kind(self) -> AxisKind:
        return axis_kind(self.name) or AxisKind.NONE

    @classmethod
    def none(cls) -> Axis:
        return cls(NO_AXIS, (AxisValue(""),))


class Issue(enum.Enum):
    NOT_AN_AXIS = "not an axis"          # a name no axis has (only a program sends one)
    NO_COLUMNS = "no columns"            # the columns must vary something
    SAME_AXIS = "same axis"              # rows and columns vary the same thing
    NO_VALUES = "no values"
    BAD_TAKES = "bad takes"              # the number of takes is not a whole number in range
    NOT_OFFERED = "not offered"          # a model the picker does not offer
    TOO_MANY_VALUES = "too many values"
    TOO_MANY_CELLS = "too many cells"


@dataclass(frozen=True)
class GridProblem:
    """Something that stops a grid before any cell is checked, on the side it belongs to."""

    issue: Issue
    side: Side
    name: str = ""       # the axis's name, or the value at fault
    count: int = 0
    limit: int = 0


@dataclass(frozen=True)
class Cell:
    """One job of the grid: where it sits, its label, and the request's model, options and prompt."""

    row: int
    column: int
    label: str
    model: str
    options: Mapping[str, Any]
    prompt: str | None = None    # None: the form's
    carried: str = ""            # the form's options its model could not take, as sent instead: "size auto"
    first_size: tuple[int, int] | None = None   # the first image's size, as shown: what `auto` follows

    @property
    def estimated_cost(self) -> float:
        return schema.model(self.model).estimated_cost(self.options, self.first_size)


@dataclass(frozen=True)
class Grid:
    columns: Axis
    rows: Axis = field(default_factory=Axis.none)

    @property
    def shape(self) -> tuple[int, int]:
        """(columns, rows)."""
        return len(self.columns.values), len(self.rows.values)

    @property
    def size(self) -> int:
        return len(self.columns.values) * len(self.rows.values)

    def axis_named(self, name: str) -> tuple[Side, Axis] | None:
        """The side whose axis varies `name` (an option's name, "model" or "prompt"), if one does."""
        for side, axis in ((Side.COLUMNS, self.columns), (Side.ROWS, self.rows)):
            if axis.name == name:
                return side, axis
        return None

    def cells(self, model: str, options: Mapping[str, Any], first_size: tuple[int, int] | None = None) -> list[Cell]:
        """Every cell, row by row, for a form on `model` with `options` whose first image is `first_size`
        (width, height as shown; None when not known), which each cell's price follows at size `auto`."""
        cells = []
        for (row, across), (column, down) in itertools.product(enumerate(self.rows.values),
                                                                enumerate(self.columns.values)):
            changes = {**down.changes, **across.changes}
            slug, sent = apply_changes(model, options, changes)
            label = ", ".join(part for part in (down.label, across.label) if part)
            carried = ", ".join(f"{name} {value}" for name, value in adaptation(model, options, changes).items())
            cells.append(Cell(row, column, label + (f" ({carried})" if carried else ""), slug, sent,
                              changes.get("prompt"), carried, first_size))
        return cells


def apply_changes(model: str, options: Mapping[str, Any], changes: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model and options a cell is sent with.

    On another model the form's options are carried over where that model allows them (its default
    elsewhere), so a comparison across models compares like with like; the value an axis sets is sent as
    it is, and checked against the cell's own model like any other.
    """
    slug = changes.get("model") or model
    sent = schema.model(slug).adapt_options(options) if slug != model else dict(options)
    sent.update({name: value for name, value in changes.items() if name not in (MODEL_AXIS, PROMPT_AXIS)})
    return slug, sent


def adaptation(model: str, options: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The form's options a cell on another model could not take, with the default it gets instead."""
    slug, sent = apply_changes(model, options, changes)
    if slug == model:
        return {}
    return {name: value for name, value in sent.items() if name not in changes and options.get(name) != value}


def read_axis(side: Side, choice: AxisChoice, prompts: Sequence[str],
              offered: Sequence[str]) -> tuple[Axis, list[GridProblem]]:
    """An axis's values from what was ticked and typed, and what is wrong with them."""
    kind = axis_kind(choice.name)
    if kind is None:
        return Axis.none(), [GridProblem(Issue.NOT_AN_AXIS, side, str(choice.name)[:40])]
    if kind is AxisKind.NONE:
        return Axis.none(), []
    problems: list[GridProblem] = []
    values: list[AxisValue] = []
    if kind is AxisKind.PROMPT:
        # Labelled by box, so "prompt 3" is the box called "Prompt variant 3" even when box 2 is empty.
        values = [AxisValue(f"prompt {i}", {PROMPT_AXIS: p}) for i, p in enumerate(prompts, start=1) if p and p.strip()]
    elif kind is AxisKind.TAKES:
        text = (choice.typed or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_AXIS_VALUES:
            return Axis(choice.name, ()), [GridProblem(Issue.BAD_TAKES, side, text[:20], limit=MAX_AXIS_VALUES)]
        values = [AxisValue(f"take {n}") for n in range(1, int(text) + 1)]
    elif kind is AxisKind.MODEL:
        for slug in _in_order(choice.ticked, offered):
            if slug in offered:
                values.append(AxisValue(f"{MODEL_AXIS}={slug}", {MODEL_AXIS: slug}))
            else:
                problems.append(GridProblem(Issue.NOT_OFFERED, side, str(slug)[:40]))
    else:
        picked: list[Any] = _in_order(choice.ticked, option_choices(choice.name))
        if choice.typed and choice.typed.strip():
            for part in choice.typed.replace(";", ",").split(","):
                part = part.strip()
                if part:
                    picked.append(int(part) if part.lstrip("-").isdigit() else part)
        values = [AxisValue(f"{choice.name}={value}", {choice.name: value}) for value in dict.fromkeys(picked)]
    if not values and not problems:
        problems.append(GridProblem(Issue.NO_VALUES, side, choice.name))
    elif len(values) > MAX_AXIS_VALUES:
        problems.append(GridProblem(Issue.TOO_MANY_VALUES, side, choice.name, len(values), MAX_AXIS_VALUES))
    return Axis(choice.name, tuple(values)), problems


def option_choices(name: str) -> tuple[str, ...]:
    """Every value any model lists for an option, in the registry's order."""
    return tuple(dict.fromkeys(choice for model in schema.MODELS.values()
                               for choice in getattr(model.params_by_name.get(name), "choices", ())))


def _in_order(ticked: Sequence[Any], order: Sequence[Any]) -> list[Any]:
    """Ticked values once each, in the order they are offered (a page sends them in the order clicked)."""
    rank = {value: index for index, value in enumerate(order)}
    return sorted(dict.fromkeys(ticked), key=lambda value: rank.get(value, len(rank)))


def read_grid(columns: AxisChoice, rows: AxisChoice, prompts: Sequence[str], offered: Sequence[str],
              max_cells: int = MAX_GRID_CELLS) -> tuple[Grid, list[GridProblem]]:
    """The grid the page describes, and everything that stops it (empty when every cell may be checked)."""
    x, problems = read_axis(Side.COLUMNS, columns, prompts, offered)
    if x.kind is AxisKind.NONE and not problems:
        problems.append(GridProblem(Issue.NO_COLUMNS, Side.COLUMNS))
    y, more = read_axis(Side.ROWS, rows, prompts, offered)
    problems += more
    if y.kind is not AxisKind.NONE and y.name == x.name:
        problems.append(GridProblem(Issue.SAME_AXIS, Side.ROWS, y.name))
    grid = Grid(x, y)
    if not problems and grid.size > max_cells:
        problems.append(GridProblem(Issue.TOO_MANY_CELLS, Side.ROWS, count=grid.size, limit=max_cells))
    return grid, problems


# What fills the grid once it runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedRun:
    row: int
    column: int
    label: str
    run_id: str


@dataclass(frozen=True)
class GridLayout:
    """A started grid: its axes, their values' headers, and the run in each cell (row by row)."""

    columns: str
    rows: str
    column_headers: tuple[str, ...]
    row_headers: tuple[str, ...]
    cells: tuple[PlacedRun, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for gr.State, JSON or an export)."""
        return {"columns": {"axis": self.columns, "headers": list(self.column_headers)},
                "rows": {"axis": self.rows, "headers": list(self.row_headers)},
                "cells": [{"row": c.row, "column": c.column, "label": c.label, "run_id": c.run_id} for c in self.cells]}


def grid_layout(grid: Grid, cells: Sequence[Cell], run_ids: Sequence[str]) -> GridLayout:
    """Where each run of a started grid sits (`run_ids` in the order of `cells`)."""
    placed = tuple(PlacedRun(cell.row, cell.column, cell.label, run_id) for cell, run_id in zip(cells, run_ids,
                                                                                              strict=True))
    return GridLayout(grid.columns.name, grid.rows.name, tuple(v.header for v in grid.columns.values),
                      tuple(v.header for v in grid.rows.values), placed)
