"""The History tab's insights: time and cost by model, quality and size, from this browser's own runs."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from components.app.insights import PARTS, Insight, Naming, insights, naming
from components.app.service import EditService
from components.ui import copy
from components.ui.form import valid_owner
from components.ui.status import money

COLUMNS = ["label", "group", "model", "quality", "size", "runs", "seconds", "cost"]
# Tick values without trailing zeros (0, 0.02, 0.1): "0.00" flush beside "0.02" read as one number.
SHORT = "~g"


@dataclass
class InsightsPanel:
    note: gr.Markdown
    seconds: gr.BarPlot
    cost: gr.BarPlot


def build_insights_panel() -> InsightsPanel:
    with gr.Accordion(copy.INSIGHTS_TITLE, open=False, elem_id="insights"):
        note = gr.Markdown(copy.INSIGHTS_EMPTY, elem_id="insights-note")
        # Bars lie along the value axis, each group named on a line of its own: upright bars slanted their names,
        # which overlapped and were cut short at 390 px. No legend: the names say the model. Vega lists the names
        # in order (not by value), the same in both charts, so a group sits on the same line in each.
        with gr.Row():
            common = {"y": "label", "color": "model", "y_title": Naming(PARTS, "").title, "x_axis_format": SHORT,
                      "tooltip": ["group", "runs", "seconds", "cost"], "colors_in_legend": [], "min_width": 320}
            seconds = gr.BarPlot(x="seconds", title=copy.INSIGHTS_SECONDS_TITLE, x_title=copy.INSIGHTS_SECONDS_AXIS,
                                 elem_id="insights-seconds", **common)
            cost = gr.BarPlot(x="cost", title=copy.INSIGHTS_COST_TITLE, x_title=copy.INSIGHTS_COST_AXIS,
                              elem_id="insights-cost", **common)
    return InsightsPanel(note, seconds, cost)


def insights_frame(rows: list[Insight], names: Naming) -> pd.DataFrame:
    """One row a group, named on the charts as short as tells the groups apart (the tooltip names it whole)."""
    return pd.DataFrame([[names.label(r), r.group, r.model, r.quality, r.size, r.runs, r.median_seconds,
                          r.median_cost] for r in rows], columns=COLUMNS)


def insights_note(rows: list[Insight], names: Naming) -> str:
    if not rows:
        return copy.INSIGHTS_EMPTY
    runs = sum(r.runs for r in rows)
    fastest, cheapest = rows[0], min(rows, key=lambda r: (r.median_cost is None, r.median_cost or 0.0))
    note = copy.INSIGHTS_SUMMARY.format(runs=count(runs, "completed run"), groups=count(len(rows), "group"), fastest=fastest.group,
                                        seconds=f"{fastest.median_seconds:.1f}" if fastest.median_seconds else "—",
                                        cheapest=cheapest.group, cost=money(cheapest.median_cost))
    if shared := names.shared(rows):  # left out of the charts' names
        note += " " + copy.INSIGHTS_SHARED.format(groups=count(len(rows), "group"),
                                                  shared=", ".join(f"{part} {value}" for part, value in shared))
    if all(r.simulated for r in rows):
        note += " " + copy.INSIGHTS_SIMULATED
    return note


def count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


class InsightsHandlers:
    def __init__(self, service: EditService) -> None:
        self.service = service

    def show(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> tuple[str, dict, dict]:
        """The note, then each chart's data and the title of its axis of names (the parts its names show)."""
        try:
            owner = valid_owner(self.service, owner_token, profile)
        except gr.Error:  # no owner yet (the page is loading): nothing to chart
            owner = None
        rows = insights(self.service.history.records(owner)) if owner else []
        names = naming(rows)
        frame = insights_frame(rows, names)
        # One update each: Gradio takes the value out of an update as it sends it.
        return (insights_note(rows, names), gr.update(value=frame, y_title=names.title),
                gr.update(value=frame, y_title=names.title))


def wire_insights_panel(panel: InsightsPanel, service: EditService, owner: gr.BrowserState,
                        gallery: gr.Gallery) -> None:
    """Drawn again when the gallery changes (a run was added, finished or pruned): no work on quiet ticks."""
    handlers = InsightsHandlers(service)
    gallery.change(handlers.show, owner, [panel.note, panel.seconds, panel.cost], queue=False,
                   api_visibility="private", show_progress="hidden")
