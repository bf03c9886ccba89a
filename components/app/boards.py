"""Boards: runs laid out for people who were not there, as one HTML file or one contact-sheet PNG.

A board is a grid (row labels × column labels, a run or nothing in each cell),
a chain (versions in order, each made from the one before) or a selection (runs
side by side). Each kind is a list of cells with labels: the renderers (the page
in `board_page.py`, the contact sheet here) only read that.

A board is made to be passed around, so it says what a stakeholder needs (the
prompt, the model, every parameter, times and cost) and nothing that opens
anything: never the owner id (it opens the whole history of a browser, see
`HistoryStore.zip_runs`), never a request id, never an input's URL (it may be
signed), never a key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping, Sequence

from components.api import schema
from components.app.backend import BackendKind
from components.app.history import HistoryStore, RunRecord
from components.app.status import RunStatus, money, seconds
from components.media.contact_sheet import SheetCell, contact_sheet_png

# A 8 × 8 grid: more would make a page no one reads, and a file no one wants to download.
MAX_BOARD_RUNS = 64
MAX_TITLE_CHARS = 120
CAPTION_PROMPT_CHARS = 48
# The longer side of the pictures inside a board's page, by how many runs it holds: a few runs are looked at
# one by one, enlarged; many are compared side by side, smaller. At JPEG quality 85 a 1536x1024 result takes
# about 260 KB at 1600 px, 200 KB at 1280 and 140 KB at 1024 (a third more in base64): see bench/boards.py.
EMBED_SIDES = ((8, 1600), (24, 1280), (MAX_BOARD_RUNS, 1024))
# A selection or chain is wrapped into rows of this many on the contact sheet (the page wraps to the screen).
SHEET_COLUMNS = 4

APP_NAME = "GPT Image Edit explorer"
NO_RUNS = "Pick at least one run for the board."
TOO_MANY_RUNS = "A board holds at most {limit} runs; you picked {count}."
SIMULATED = "simulated"
SIMULATED_NOTE = ("Runs marked simulated were answered by the app's built-in emulator: their pictures are stamped "
                  "re-renders of the input, not the model's work, and their cost was not billed.")
NO_RESULT = "no result"
STEP = "Step {number}"
RUN_COUNT = "{count} run{s}"
IMAGES_SENT = {0: "no image", 1: "the photo"}
REFERENCES = "the photo + {count} reference{s}"
BY_URL = "{count} by URL"
PAINTED_MASK = "a painted mask"
MASK_FILE = "a mask file"
NOT_VERSIONS = ("{run} is not a version of {other}, or the other way round: neither was continued from the other. "
                "Pick runs from one chain of versions (a run's details list its chain; one run alone brings its "
                "whole chain), or lay them side by side.")


class Layout(enum.Enum):
    GRID = "grid"
    CHAIN = "chain"            # ordered parent → child: each a version of the one before
    SELECTION = "selection"    # side by side, in the order given


class BoardError(ValueError):
    """A board that cannot be made as asked; the message says why, in words for the person asking."""


@dataclass(frozen=True)
class Board:
    """What a board shows. `cells` are row by row for a grid (len(rows) × len(columns); None where no run
    is), in order otherwise."""

    title: str
    layout: Layout
    cells: tuple[RunRecord | None, ...]
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    exported_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def records(self) -> list[RunRecord]:
        return [record for record in self.cells if record is not None]

    @property
    def sheet_columns(self) -> int:
        """Cells per row on the contact sheet."""
        if self.layout is Layout.GRID:
            return max(1, len(self.columns))
        return max(1, min(SHEET_COLUMNS, len(self.cells)))


def _checked(title: str, layout: Layout, cells: Sequence[RunRecord | None], rows: Sequence[str] = (),
             columns: Sequence[str] = ()) -> Board:
    count = sum(cell is not None for cell in cells)
    if count == 0:
        raise BoardError(NO_RUNS)
    if count > MAX_BOARD_RUNS:
        raise BoardError(TOO_MANY_RUNS.format(limit=MAX_BOARD_RUNS, count=count))
    title = " ".join((title or "").split())[:MAX_TITLE_CHARS] or default_title(layout)
    return Board(title, layout, tuple(cells), tuple(rows), tuple(columns))


def grid(title: str, rows: Sequence[str], columns: Sequence[str],
         cells: Mapping[tuple[str, str], RunRecord]) -> Board:
    """A grid: `cells[(row label, column label)]` is the run at that crossing (an X/Y sweep, say)."""
    return _checked(title, Layout.GRID, [cells.get((row, column)) for row in rows for column in columns],
                    rows, columns)


def chain(title: str, records: Sequence[RunRecord]) -> Board:
    """Versions in order, the first the original: each run was made from the one before (see `versions`)."""
    return _checked(title, Layout.CHAIN, list(records))


def versions(history: HistoryStore, records: Sequence[RunRecord]) -> list[RunRecord]:
    """The picked runs as a chain of versions, in the order they were made: one run picked, its whole chain
    (the versions History still keeps, ending with it); several, those runs, each an earlier version of the
    next (versions in between may be left out). A BoardError when they are not versions of one another:
    a page that says "each made from the one before" must be true."""
    if not records:
        return []
    chains = {record.run_id: history.lineage(record) for record in records}
    if len(records) == 1:
        return chains[records[0].run_id]
    latest = max(records, key=lambda record: len(chains[record.run_id]))
    order = {version.run_id: position for position, version in enumerate(chains[latest.run_id])}
    strays = [record for record in records if record.run_id not in order]
    if strays:
        raise BoardError(NOT_VERSIONS.format(run=run_name(strays[0]), other=run_name(latest)))
    return sorted(records, key=lambda record: order[record.run_id])


def run_name(record: RunRecord) -> str:
    """A run as a person picking it would know it: its prompt, shortened, and when it ran."""
    name = record.label or record.prompt
    name = name if len(name) <= CAPTION_PROMPT_CHARS else name[:CAPTION_PROMPT_CHARS - 1] + "…"
    return f"“{name}” ({record.created_at[11:19]})"


def selection(title: str, records: Sequence[RunRecord]) -> Board:
    """Runs side by side, in the order given (a one-way sweep, or runs picked from the history)."""
    return _checked(title, Layout.SELECTION, list(records))


def embed_side(runs: int) -> int:
    """The longer side of a board's embedded pictures, for a board of `runs` runs."""
    return next((side for most, side in EMBED_SIDES if runs <= most), EMBED_SIDES[-1][1])


def default_title(layout: Layout) -> str:
    return {Layout.GRID: "Grid", Layout.CHAIN: "Versions", Layout.SELECTION: "Edits"}[layout]


# What a board says about a run --------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    given: bool   # sent with the run; otherwise the model's default, which Segmind applied


def settings(record: RunRecord) -> list[Setting]:
    """Every parameter of the run's model, as it ran: the value sent, or the model's default."""
    model = schema.model_or_default(record.model)
    shown = [Setting(p.name, str(record.options.get(p.name, p.default)), p.name in record.options)
             for p in model.options]
    known = {p.name for p in model.options}
    # An option the registry no longer lists (an older record) is still part of what ran.
    shown += [Setting(name, str(value), True) for name, value in record.options.items() if name not in known]
    return shown


def model_label(record: RunRecord) -> str:
    entry = schema.MODELS.get(record.model)
    return entry.label if entry else record.model


def simulated(record: RunRecord) -> bool:
    return record.backend == BackendKind.EMULATOR.value


def cost_text(record: RunRecord) -> str:
    if record.cost is None:
        return money(None)
    return f"{money(record.cost)} {SIMULATED}" if simulated(record) else money(record.cost)


def total_cost(records: Iterable[RunRecord]) -> str:
    """What the runs cost in all: billed and simulated apart, since only one of them was paid."""
    records = list(records)
    billed = [r.cost for r in records if r.cost is not None and not simulated(r)]
    faked = [r.cost for r in records if r.cost is not None and simulated(r)]
    parts = [money(sum(billed))] if billed or not faked else []
    parts += [f"{money(sum(faked))} {SIMULATED}"] if faked else []
    return " + ".join(parts)


def times_text(record: RunRecord) -> str:
    parts = [f"inference {seconds(record.inference_time)}"]
    if record.queue_time is not None:
        parts.append(f"queue {seconds(record.queue_time)}")
    parts.append(f"total {seconds(record.total_time)}")
    return " · ".join(parts)


def images_sent(record: RunRecord) -> str:
    """What the run sent, in words: the photo, references, a mask. Never a URL: one may be signed."""
    count = len(record.inputs)
    text = IMAGES_SENT.get(count) or REFERENCES.format(count=count - 1, s="s" if count > 2 else "")
    remote = sum("://" in name for name in record.inputs)
    if remote:
        text += f" ({BY_URL.format(count=remote)})"
    if record.mask:
        text += f"; {PAINTED_MASK if record.mask_painted else MASK_FILE}"
    return text


def run_count(records: Sequence[RunRecord]) -> str:
    return RUN_COUNT.format(count=len(records), s="s" if len(records) != 1 else "")


def started_text(record: RunRecord) -> str:
    return record.created_at[:19].replace("T", " ") + " UTC"


def _values(record: RunRecord) -> dict[str, str]:
    return {"model": record.model, "prompt": record.prompt, **{s.name: s.value for s in settings(record)}}


def varied(records: Sequence[RunRecord]) -> list[str]:
    """The names (model, prompt, parameters) whose value is not the same for every run, in a stable order."""
    values = [_values(record) for record in records]
    names = list(dict.fromkeys(name for entry in values for name in entry))
    return [name for name in names if len({entry.get(name) for entry in values}) > 1]


def shared(records: Sequence[RunRecord]) -> dict[str, str]:
    """The names and values every run has in common (the prompt and model among them, when they are)."""
    values = [_values(record) for record in records]
    return {name: value for name, value in values[0].items()
            if all(entry.get(name) == value for entry in values[1:])} if values else {}


def short_prompt(prompt: str) -> str:
    prompt = " ".join(prompt.split())
    return prompt if len(prompt) <= CAPTION_PROMPT_CHARS else prompt[:CAPTION_PROMPT_CHARS - 1].rstrip() + "…"


def caption(record: RunRecord, names: Sequence[str]) -> str:
    """What sets this run apart on its board: its values of `names` (see `varied`); its label when none."""
    values = _values(record)
    parts = []
    for name in names:
        if name == "prompt":
            parts.append(f"“{short_prompt(record.prompt)}”")
        elif name == "model":
            parts.append(model_label(record))
        else:
            parts.append(f"{name}={values.get(name, '—')}")
    return " · ".join(parts) or record.label or short_prompt(record.prompt)


def cell_label(board: Board, index: int) -> str:
    """Where a cell sits, in words: its row and column on a grid, its step on a chain, nothing otherwise."""
    if board.layout is Layout.GRID and board.columns:
        row, column = divmod(index, len(board.columns))
        return " · ".join(part for part in (board.rows[row], board.columns[column]) if part)
    if board.layout is Layout.CHAIN:
        return STEP.format(number=index + 1)
    return ""


def error_text(record: RunRecord) -> str:
    """The run's error without its request id (errors name it for the person who can resume the job)."""
    error = record.error or ""
    if record.request_id:
        error = error.replace(f"Request id: {record.request_id}.", "").replace(record.request_id, "…")
    return " ".join(error.split())


def status_text(record: RunRecord) -> str:
    return record.status.value if record.status is not RunStatus.COMPLETED else ""


# The contact sheet ----------------------------------------------------------------------------


def sheet_subtitle(board: Board) -> str:
    records = board.records
    common = shared(records)
    parts = [f"{APP_NAME} · {board.exported_at:%Y-%m-%d %H:%M} UTC",
             f"{run_count(records)} · {total_cost(records)}"]
    if "prompt" in common:
        parts.append(f"“{short_prompt(common['prompt'])}”")
    return " · ".join(parts)


def contact_sheet(board: Board, history: HistoryStore) -> bytes:
    """The board as one labelled PNG: each cell's result (or its status), caption, model, time and cost."""
    names = varied(board.records)
    cells: list[SheetCell | None] = []
    for index, record in enumerate(board.cells):
        if record is None:
            cells.append(None)
            continue
        where = cell_label(board, index) if board.layout is Layout.CHAIN else ""
        first = " · ".join(part for part in (where, caption(record, names)) if part)
        second = f"{model_label(record)} · {seconds(record.total_time)} · {cost_text(record)}"
        result = history.path(record, record.result)
        # A run without a result says its status in the picture's place; one with a result, under it.
        lines = (first, second, status_text(record)) if result and status_text(record) else (first, second)
        cells.append(SheetCell(result, lines, status_text(record) or NO_RESULT))
    rows = board.rows if board.layout is Layout.GRID else ()
    columns = board.columns if board.layout is Layout.GRID else ()
    return contact_sheet_png(board.title, sheet_subtitle(board), cells, board.sheet_columns, rows, columns)

