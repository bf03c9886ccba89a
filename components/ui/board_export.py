"""Boards from the History and Sweep tabs: the caller's runs as one HTML file or one contact-sheet PNG.

The page and the sheet are made by `components/app/boards.py` and `board_page.py`; this module picks
the runs (only the caller's own: every handler checks the signed owner token) and hands the file out
through the serve cache, its size known before it is placed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import gradio as gr

from components.app import boards
from components.app.board_page import board_html
from components.app.history import HistoryStore, RunRecord, prompt_slug
from components.app.service import EditService
from components.ui import copy
from components.ui.form import valid_owner
from components.ui.history_tab import HistoryTab, caption, megabytes
from components.ui.serving import TooLargeToServe, fresh_path

# Exports decode and encode dozens of pictures: two at a time, so they never take the cores from everything else.
EXPORT_CONCURRENCY = {"concurrency_limit": 2, "concurrency_id": "board-exports"}


@dataclass
class HistoryBoard:
    runs: gr.Dropdown      # run ids, in the order picked
    add: gr.Button
    layout: gr.Radio
    title: gr.Textbox
    html: gr.Button
    png: gr.Button
    file: gr.File


@dataclass
class SweepBoard:
    html: gr.Button
    png: gr.Button
    file: gr.File


class BoardHandlers:
    def __init__(self, service: EditService, history: HistoryStore) -> None:
        self.service = service
        self.history = history

    def owned(self, owner_token: object, run_ids: object, profile: gr.OAuthProfile | None = None) -> list[RunRecord]:
        """The caller's runs among `run_ids`, in order, each once; anyone else's (or unknown ids) are left out."""
        owner = valid_owner(self.service, owner_token, profile)
        found: dict[str, RunRecord] = {}
        for run_id in run_ids if isinstance(run_ids, (list, tuple)) else []:
            record = self.history.owned(run_id, owner)
            if record is not None:
                found.setdefault(run_id, record)
        return list(found.values())

    # Picking runs on the History tab --------------------------------------------------------

    def choices(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        """Every run of the caller, newest first, as the picker offers them."""
        if not isinstance(owner_token, str) or not owner_token:
            return gr.skip()
        records = self.history.records(valid_owner(self.service, owner_token, profile))
        return gr.update(choices=[(choice_label(record), record.run_id) for record in records])

    @staticmethod
    def add_selected(picked: list[str] | None, selected: str | None) -> list[str]:
        picked = list(picked or [])
        if not selected:
            raise gr.Error(copy.BOARD_SELECT_FIRST, title=copy.BOARD_NOT_MADE)
        return picked if selected in picked else [*picked, selected]

    # Boards -------------------------------------------------------------------------------------

    def picked_board(self, owner_token: object, run_ids: list[str] | None, layout: str | None,
                     title: str | None, profile: gr.OAuthProfile | None = None) -> boards.Board:
        """The History tab's board: the picked runs side by side in the order picked, or as versions in the
        order they were made (one run: its whole chain)."""
        records = self.owned(owner_token, run_ids, profile)
        if layout == boards.Layout.CHAIN.value:
            return self.made(lambda: boards.chain(title or "", boards.versions(self.history, records)))
        return self.made(lambda: boards.selection(title or "", records))

    def sweep_board(self, owner_token: object, run_ids: list[str] | None, layout: object = None,
                    profile: gr.OAuthProfile | None = None) -> boards.Board:
        """The Sweep tab's last grid, laid out as it ran (rows × columns); its runs side by side if the
        page has no layout for them."""
        records = self.owned(owner_token, run_ids, profile)
        if not records:
            raise gr.Error(copy.NO_SWEEP_YET, title=copy.BOARD_NOT_MADE)
        title = copy.SWEEP_BOARD_TITLE.format(varies=", ".join(boards.varied(records)) or copy.SWEEP_BOARD_SAME)
        placed = grid_cells(layout)
        if placed is not None:
            rows, columns, cells = placed
            return self.grid_board(owner_token, title, rows, columns, cells, profile)
        return self.made(lambda: boards.selection(title, records))

    def grid_board(self, owner_token: object, title: str, rows: Sequence[str], columns: Sequence[str],
                   cells: Mapping[tuple[str, str], str], profile: gr.OAuthProfile | None = None) -> boards.Board:
        """A grid: `cells[(row label, column label)]` is a run id (an X/Y sweep's). Cells holding
        anyone else's run stay empty."""
        owned = {record.run_id: record for record in self.owned(owner_token, list(cells.values()), profile)}
        placed = {where: owned[run_id] for where, run_id in cells.items() if run_id in owned}
        return self.made(lambda: boards.grid(title, rows, columns, placed))

    @staticmethod
    def made(make: Callable[[], boards.Board]) -> boards.Board:
        try:
            return make()
        except boards.BoardError as exc:
            raise gr.Error(str(exc), title=copy.BOARD_NOT_MADE, print_exception=False) from None

    # Files ----------------------------------------------------------------------------------------

    def html_file(self, board: boards.Board) -> dict[str, Any]:
        data = board_html(board, self.history).encode()
        return serve(data, f"board-{prompt_slug(board.title)}.html")

    def png_file(self, board: boards.Board) -> dict[str, Any]:
        return serve(boards.contact_sheet(board, self.history), f"contact-sheet-{prompt_slug(board.title)}.png")

    # The buttons' handlers (each an API endpoint too) -----------------------------------------------

    def picked_html(self, owner_token: object, run_ids: list[str] | None, layout: str | None,
                    title: str | None, profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        return self.html_file(self.picked_board(owner_token, run_ids, layout, title, profile))

    def picked_png(self, owner_token: object, run_ids: list[str] | None, layout: str | None,
                   title: str | None, profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        return self.png_file(self.picked_board(owner_token, run_ids, layout, title, profile))

    def sweep_html(self, owner_token: object, run_ids: list[str] | None, layout: object = None,
                   profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        return self.html_file(self.sweep_board(owner_token, run_ids, layout, profile))

    def sweep_png(self, owner_token: object, run_ids: list[str] | None, layout: object = None,
                  profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
        return self.png_file(self.sweep_board(owner_token, run_ids, layout, profile))


def grid_cells(layout: object) -> tuple[list[str], list[str], dict[tuple[str, str], str]] | None:
    """Row headers, column headers and the run in each cell, from the Sweep tab's layout
    (`grid.GridLayout.as_dict`); None for anything else (it comes from the page, so it is checked)."""
    try:
        rows = [str(h) for h in layout["rows"]["headers"]] or [""]  # type: ignore[index]
        columns = [str(h) for h in layout["columns"]["headers"]]  # type: ignore[index]
        cells = {(rows[int(c["row"])], columns[int(c["column"])]): str(c["run_id"])
                 for c in layout["cells"]}  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return (rows, columns, cells) if columns and cells else None


def choice_label(record: RunRecord) -> str:
    """A run in the picker: when it started (two runs may share a caption), then its gallery caption."""
    return f"{record.created_at[11:16]} · {caption(record)}"


def serve(data: bytes, name: str) -> dict[str, Any]:
    """The file in the serve cache, its room taken at its real size; refused if it could never fit."""
    try:
        target = fresh_path(name, len(data))
    except TooLargeToServe as exc:
        raise gr.Error(copy.BOARD_TOO_LARGE.format(size=megabytes(exc.size), limit=megabytes(exc.limit)),
                       title=copy.BOARD_NOT_MADE) from None
    target.write_bytes(data)
    return gr.update(value=str(target), visible=True)


def build_history_board() -> HistoryBoard:
    """The History tab's board panel (placed under the tab's other controls)."""
    with gr.Accordion(copy.BOARD_ACCORDION, open=False, elem_id="history-board"):
        gr.Markdown(copy.BOARD_INTRO)
        # Any value is let through (a program names runs by id without loading the choices first):
        # the handlers keep only the caller's own runs, whatever they are sent.
        runs = gr.Dropdown(label=copy.BOARD_RUNS, choices=[], value=[], multiselect=True, allow_custom_value=True,
                           elem_id="board-runs")
        with gr.Row():
            add = gr.Button(copy.BOARD_ADD, size="sm", scale=0, min_width=220, elem_id="board-add")
        with gr.Row():
            layout = gr.Radio([(copy.BOARD_SELECTION, boards.Layout.SELECTION.value),
                               (copy.BOARD_CHAIN, boards.Layout.CHAIN.value)],
                              value=boards.Layout.SELECTION.value, label=copy.BOARD_LAYOUT, elem_id="board-layout")
            title = gr.Textbox(label=copy.BOARD_TITLE, placeholder=copy.BOARD_TITLE_PLACEHOLDER,
                               max_length=boards.MAX_TITLE_CHARS, elem_id="board-title")
        with gr.Row():
            html = gr.Button(copy.BOARD_HTML, variant="primary", elem_id="board-html")
            png = gr.Button(copy.BOARD_PNG, elem_id="board-png")
        file = gr.File(label=copy.BOARD_FILE, interactive=False, visible=False, elem_id="board-file")
    return HistoryBoard(runs, add, layout, title, html, png, file)


def build_sweep_board() -> SweepBoard:
    """The Sweep tab's two export buttons, for the sweep last run on this page."""
    gr.Markdown(copy.SWEEP_BOARD_INTRO)
    with gr.Row():
        html = gr.Button(copy.BOARD_HTML, size="sm", elem_id="sweep-board-html")
        png = gr.Button(copy.BOARD_PNG, size="sm", elem_id="sweep-board-png")
    file = gr.File(label=copy.BOARD_FILE, interactive=False, visible=False, elem_id="sweep-board-file")
    return SweepBoard(html, png, file)


def wire_history_board(panel: HistoryBoard, handlers: BoardHandlers, owner: gr.BrowserState,
                       history: HistoryTab) -> None:
    quiet = {"queue": False, "api_visibility": "private"}
    # The picker follows the gallery, which is redrawn exactly when the caller's runs change. (Not the ids'
    # State: Gradio's page acts on a State's change only after queued events, and the refresh is not queued.)
    history.gallery.change(handlers.choices, owner, panel.runs, show_progress="hidden", **quiet)
    panel.add.click(handlers.add_selected, [panel.runs, history.selected], panel.runs, **quiet)
    inputs = [owner, panel.runs, panel.layout, panel.title]
    panel.html.click(handlers.picked_html, inputs, panel.file, api_name="board_html", api_visibility="undocumented",
                     **EXPORT_CONCURRENCY)
    panel.png.click(handlers.picked_png, inputs, panel.file, api_name="board_png", api_visibility="undocumented",
                    **EXPORT_CONCURRENCY)


def wire_sweep_board(panel: SweepBoard, handlers: BoardHandlers, owner: gr.BrowserState, run_ids: gr.State,
                     layout: gr.State) -> None:
    panel.html.click(handlers.sweep_html, [owner, run_ids, layout], panel.file, api_name="sweep_board_html",
                     api_visibility="undocumented", **EXPORT_CONCURRENCY)
    panel.png.click(handlers.sweep_png, [owner, run_ids, layout], panel.file, api_name="sweep_board_png",
                    api_visibility="undocumented", **EXPORT_CONCURRENCY)
