"""Continuing from a result: one click makes a run's image the photo being edited, and the next run its child.

The image continued from is what the page showed: the composite when the run kept the original outside
the mask, else the model's result. It goes into the photo input as it is (Segmind gets those bytes), and the
editor gets a fresh working copy of it with nothing painted. The prompt and settings stay; the run's id is
remembered so the next run records it as `parent`, which History follows to show the chain of versions.
Every way in (the Edit tab's result, a take, a History run, a Sweep cell) checks the run is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from components.app.history import HistoryStore, RunRecord
from components.media.decoding import InputError
from components.media.working_copy import make_working_copy
from components.ui import copy
from components.ui.serving import fresh_path, servable


@dataclass(frozen=True)
class Continued:
    """A run's image, ready to be edited further."""

    run_id: str
    photo: str        # a served copy of the image, for the photo input
    working: str      # its working copy, for the editor and the input view
    composite: bool   # the result laid over the photo through the mask (else the model's own output)

    @property
    def editor(self) -> dict[str, Any]:
        """The editor's value: the working copy, nothing painted."""
        return {"background": self.working, "layers": [], "composite": None}

    def said(self, name: str) -> str:
        """The status line after continuing: which image is now the photo."""
        which = copy.CONTINUED_COMPOSITE if self.composite else copy.CONTINUED_RESULT
        return copy.CONTINUED.format(name=name, which=which)


def continue_note(composite: bool) -> str:
    """Beside a continue button: which image continuing uses."""
    return copy.CONTINUES_FROM_COMPOSITE if composite else copy.CONTINUES_FROM_RESULT


def continued_from(history: HistoryStore, record: RunRecord | None) -> Continued:
    """`record`'s image as the next photo (the caller has checked the run is theirs); a gr.Error when it has
    none, or it is no longer readable."""
    if record is None:
        raise gr.Error(copy.CONTINUE_NOTHING, title=copy.CONTINUE_TITLE)
    name = record.continued_image
    if name is None:
        raise gr.Error(copy.CONTINUE_NO_RESULT, title=copy.CONTINUE_TITLE)
    path = history.path(record, name)
    if path is None:
        raise gr.Error(copy.CONTINUE_GONE, title=copy.CONTINUE_TITLE)
    try:
        working = make_working_copy(path, fresh_path("working-copy"), copy.PHOTO_LABEL)
    except (InputError, OSError):
        raise gr.Error(copy.CONTINUE_GONE, title=copy.CONTINUE_TITLE) from None
    return Continued(record.run_id, servable(path), str(working.path), name == record.composite)


def selected_run(event: gr.SelectData, ids: Sequence[str]) -> str:
    """The run a gallery click picked, among `ids`: named by the clicked image's file, which carries its
    run id (see runs.py), else by its position. "" when it is none of them."""
    value = event.value if isinstance(event.value, dict) else {}
    image = value.get("image") if isinstance(value.get("image"), dict) else {}
    name = Path(str(image.get("path") or image.get("url") or "")).name
    for run_id in ids or []:
        if isinstance(run_id, str) and run_id and f"_{run_id}_" in name:
            return run_id
    index = event.index if isinstance(event.index, int) else -1
    return ids[index] if ids and 0 <= index < len(ids) and isinstance(ids[index], str) else ""


# A Sweep cell: its own small piece, so the Sweep tab's layout stays its own. ---------------------------------


@dataclass
class CellContinue:
    button: gr.Button
    chosen: gr.State    # the run id of the cell last clicked


def build_cell_continue() -> CellContinue:
    """Under the Sweep tab's results: continue from the cell last clicked."""
    button = gr.Button(copy.CONTINUE_CELL_PICK, interactive=False, elem_id="sweep-continue")
    return CellContinue(button, gr.State(""))


def pick_cell(ids: list[str], event: gr.SelectData) -> tuple[str, Any]:
    """A clicked cell: remembered, and the button says which."""
    run_id = selected_run(event, ids)
    caption = (event.value or {}).get("caption") if isinstance(event.value, dict) else None
    label = str(caption or "").split(" · ")[0]
    if not run_id:
        return "", gr.update(value=copy.CONTINUE_CELL_PICK, interactive=False)
    return run_id, gr.update(value=copy.CONTINUE_CELL.format(label=label) if label else copy.CONTINUE_RESULT,
                             interactive=True)


def wire_cell_continue(cell: CellContinue, grid: gr.Gallery, run_ids: gr.State, owner: gr.BrowserState,
                       continue_from_result: Callable[..., list[Any]], outputs: list[gr.components.Component]) -> Any:
    """A click on a cell picks it; the button continues from it as History does (the form takes that
    variant's prompt and settings). Returns the continue event, for what follows it."""
    grid.select(pick_cell, run_ids, [cell.chosen, cell.button], queue=False, api_visibility="private")
    return cell.button.click(continue_from_result, [owner, cell.chosen], outputs, api_visibility="private")
