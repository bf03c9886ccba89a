"""A grid of runs as data: its cells, their labels and requests, its bounds and its price, with no page."""

from __future__ import annotations

import pytest

from components.api import schema
from components.app.grid import (
    MAX_AXIS_VALUES, MAX_GRID_CELLS, AxisChoice, Issue, Side, grid_layout, read_grid,
)
from components.app.service import MAX_RUNS_PER_OWNER

OFFERED = tuple(schema.MODELS)
SEED = schema.DEFAULT_MODEL
FORM = {**schema.model(SEED).option_defaults(), "quality": "medium", "output_compression": 60,
        "output_format": "webp"}


def grid(columns: AxisChoice, rows: AxisChoice = AxisChoice("none"), prompts=(), max_cells=MAX_GRID_CELLS):
    built, problems = read_grid(columns, rows, list(prompts), OFFERED, max_cells)
    return built, problems


def test_one_axis_is_the_grid_with_one_row_and_keeps_the_sweep_labels():
    built, problems = grid(AxisChoice("quality", ("low", "high")))
    assert problems == [] and built.shape == (2, 1)
    cells = built.cells(SEED, FORM)
    assert [(c.row, c.column, c.label) for c in cells] == [(0, 0, "quality=low"), (0, 1, "quality=high")]
    assert [c.options["quality"] for c in cells] == ["low", "high"]
    assert all(c.model == SEED and c.prompt is None and c.options["output_format"] == "webp" for c in cells)


def test_two_axes_make_every_combination_row_by_row_each_labelled_by_both():
    built, problems = grid(AxisChoice("output_format", ("webp", "png")), AxisChoice("prompt"),
                           prompts=("a red door", "", "a blue door", ""))
    assert problems == [] and built.shape == (2, 2)
    cells = built.cells(SEED, FORM)
    assert [c.label for c in cells] == ["output_format=png, prompt 1", "output_format=webp, prompt 1",
                                        "output_format=png, prompt 3", "output_format=webp, prompt 3"]
    assert [(c.row, c.column) for c in cells] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [c.prompt for c in cells] == ["a red door", "a red door", "a blue door", "a blue door"]
    # Ticked values come in the order they are offered, whatever order they were clicked in.
    assert [v.label for v in built.columns.values] == ["output_format=png", "output_format=webp"]


def test_a_model_cell_carries_the_form_over_but_sends_the_axis_value_as_chosen():
    """gpt-image-1 takes compression 1-100 and no 2048x1152: the form's custom size falls back to its default
    (said in the label); an axis that asks for compression 0 gets 0, to be refused by that model's check."""
    form = {**FORM, "size": "2048x1152"}
    built, _ = grid(AxisChoice("output_compression", typed="0, 50"), AxisChoice("model", ("gpt-image-2", SEED)))
    cells = {c.label: c for c in built.cells("gpt-image-2", form)}
    assert set(cells) == {"output_compression=0, model=gpt-image-1-edit (size auto)",
                          "output_compression=50, model=gpt-image-1-edit (size auto)",
                          "output_compression=0, model=gpt-image-2", "output_compression=50, model=gpt-image-2"}
    old = cells["output_compression=0, model=gpt-image-1-edit (size auto)"]
    assert old.model == SEED and old.options["output_compression"] == 0 and old.options["size"] == "auto"
    assert old.carried == "size auto" and cells["output_compression=0, model=gpt-image-2"].carried == ""
    assert schema.model(SEED).validate({"output_compression": 0})  # refused by its own model's check
    assert cells["output_compression=50, model=gpt-image-2"].options["size"] == "2048x1152"


def test_takes_are_the_same_request_again():
    built, problems = grid(AxisChoice("takes", typed="3"), AxisChoice("quality", ("low",)))
    assert problems == []
    cells = built.cells(SEED, FORM)
    assert [c.label for c in cells] == ["take 1, quality=low", "take 2, quality=low", "take 3, quality=low"]
    assert len({tuple(sorted(c.options.items())) for c in cells}) == 1


@pytest.mark.parametrize("columns, rows, issue, side", [
    (AxisChoice("quality"), AxisChoice("none"), Issue.NO_VALUES, Side.COLUMNS),
    (AxisChoice("none"), AxisChoice("quality", ("low",)), Issue.NO_COLUMNS, Side.COLUMNS),
    (AxisChoice("quality", ("low",)), AxisChoice("quality", ("high",)), Issue.SAME_AXIS, Side.ROWS),
    (AxisChoice("takes", typed="7"), AxisChoice("none"), Issue.BAD_TAKES, Side.COLUMNS),
    (AxisChoice("takes", typed="two"), AxisChoice("none"), Issue.BAD_TAKES, Side.COLUMNS),
    (AxisChoice("seed", ("1",)), AxisChoice("none"), Issue.NOT_AN_AXIS, Side.COLUMNS),
    (AxisChoice("quality", ("low",)), AxisChoice("model", ("dall-e-2",)), Issue.NOT_OFFERED, Side.ROWS),
    (AxisChoice("output_compression", typed="1,2,3,4,5,6,7"), AxisChoice("none"), Issue.TOO_MANY_VALUES,
     Side.COLUMNS),
    (AxisChoice("output_compression", typed="1,2,3,4,5"), AxisChoice("quality", ("low", "medium", "high", "auto")),
     Issue.TOO_MANY_CELLS, Side.ROWS),
])
def test_what_stops_a_grid_is_named_on_its_side(columns, rows, issue, side):
    _, problems = grid(columns, rows)
    assert [(p.issue, p.side) for p in problems] == [(issue, side)]


def test_the_bounds_say_why_they_are_what_they_are():
    # Every cell is a live run of its browser from the start: a grid beyond that share could never start.
    assert MAX_GRID_CELLS == MAX_RUNS_PER_OWNER
    assert MAX_AXIS_VALUES ** 2 > MAX_GRID_CELLS  # so the product is bounded too, not only each axis
    _, problems = grid(AxisChoice("quality", ("low", "high")), AxisChoice("model", OFFERED[:3]), max_cells=5)
    assert [(p.issue, p.count, p.limit) for p in problems] == [(Issue.TOO_MANY_CELLS, 6, 5)]
    _, problems = grid(AxisChoice("quality", ("low", "medium", "high", "auto")), AxisChoice("model", OFFERED))
    assert problems == []  # 4 × 4: every quality on every model fits


def test_each_cell_is_priced_on_its_own_model_and_options():
    built, _ = grid(AxisChoice("quality", ("low", "high")), AxisChoice("model", ("gpt-image-2", SEED)))
    form = {**FORM, "size": "1536x1024"}
    prices = {c.label: c.estimated_cost for c in built.cells(SEED, form)}
    assert prices == {"quality=low, model=gpt-image-1-edit": 0.016, "quality=high, model=gpt-image-1-edit": 0.25,
                      # gpt-image-2 bills by area: 1536x1024 is 1.5 times the quoted 1024x1024.
                      "quality=low, model=gpt-image-2": 0.009, "quality=high, model=gpt-image-2": 0.3165}
    # At size `auto` each cell follows the first image: a portrait photo gets 1024x1536 on both models.
    auto = {c.label: c.estimated_cost for c in built.cells(SEED, {**FORM, "size": "auto"}, (3024, 4032))}
    assert auto == prices
    square = {c.label: c.estimated_cost for c in built.cells(SEED, {**FORM, "size": "auto"})}
    assert square["quality=high, model=gpt-image-1-edit"] == 0.167 and square["quality=low, model=gpt-image-2"] == 0.006


def test_the_layout_names_the_axes_and_the_run_in_each_cell():
    built, _ = grid(AxisChoice("quality", ("low", "high")), AxisChoice("prompt"),
                    prompts=("  a very   long prompt " * 4,))
    cells = built.cells(SEED, FORM)
    layout = grid_layout(built, cells, ["run-a", "run-b"]).as_dict()
    assert layout["columns"] == {"axis": "quality", "headers": ["quality=low", "quality=high"]}
    assert layout["rows"]["axis"] == "prompt" and layout["rows"]["headers"][0].startswith("prompt 1: a very long")
    assert layout["rows"]["headers"][0].endswith("…") and len(layout["rows"]["headers"][0]) < 60
    assert layout["cells"] == [{"row": 0, "column": 0, "label": "quality=low, prompt 1", "run_id": "run-a"},
                               {"row": 0, "column": 1, "label": "quality=high, prompt 1", "run_id": "run-b"}]
