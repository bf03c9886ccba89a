"""The History tab's insights: time and cost by model, quality and size, from this browser's own runs."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from components.app.insights import Insight, insights
from components.app.service import EditService
from components.ui import copy
from components.ui.form import valid_owner
from components.ui.status import money

COLUMNS = ["group", "model", "quality", "size", "runs", "seconds", "cost"]


@dataclass
class InsightsPanel:
    note: gr.Markdown
    seconds: gr.BarPlot
    cost: gr.BarPlot


def build_insights_panel() -> InsightsPanel:
    with gr.Accordion(copy.INSIGHTS_TITLE, open=False, elem_id="insights"):
        note = gr.Markdown(copy.INSIGHTS_EMPTY, elem_id="insights-note")
        with gr.Row():
            seconds = gr.BarPlot(x="group", y="seconds", color="model", title=copy.INSIGHTS_SECONDS_TITLE,
                                 x_title="model · quality · size", y_title="seconds (median)", sort="y",
                                 tooltip=["group", "runs", "seconds", "cost"], x_label_angle=-30,
                                 elem_id="insights-seconds", min_width=320)
            cost = gr.BarPlot(x="group", y="cost", color="model", title=copy.INSIGHTS_COST_TITLE,
                              x_title="model · quality · size", y_title="US$ per image (median)", sort="y",
                              tooltip=["group", "runs", "seconds", "cost"], x_label_angle=-30,
                              elem_id="insights-cost", min_width=320)
    return InsightsPanel(note, seconds, cost)


def insights_frame(rows: list[Insight]) -> pd.DataFrame:
    return pd.DataFrame([[r.group, r.model, r.quality, r.size, r.runs, r.median_seconds, r.median_cost]
                         for r in rows], columns=COLUMNS)


def insights_note(rows: list[Insight]) -> str:
    if not rows:
        return copy.INSIGHTS_EMPTY
    runs = sum(r.runs for r in rows)
    fastest, cheapest = rows[0], min(rows, key=lambda r: (r.median_cost is None, r.median_cost or 0.0))
    note = copy.INSIGHTS_SUMMARY.format(runs=count(runs, "completed run"), groups=count(len(rows), "group"), fastest=fastest.group,
                                        seconds=f"{fastest.median_seconds:.1f}" if fastest.median_seconds else "—",
                                        cheapest=cheapest.group, cost=money(cheapest.median_cost))
    if all(r.simulated for r in rows):
        note += " " + copy.INSIGHTS_SIMULATED
    return note


def count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


class InsightsHandlers:
    def __init__(self, service: EditService) -> None:
        self.service = service

    def show(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> tuple[str, pd.DataFrame, pd.DataFrame]:
        try:
            owner = valid_owner(self.service, owner_token, profile)
        except gr.Error:  # no owner yet (the page is loading): nothing to chart
            owner = None
        rows = insights(self.service.history.records(owner)) if owner else []
        frame = insights_frame(rows)
        return insights_note(rows), frame, frame


def wire_insights_panel(panel: InsightsPanel, service: EditService, owner: gr.BrowserState,
                        gallery: gr.Gallery) -> None:
    """Drawn again when the gallery changes (a run was added, finished or pruned): no work on quiet ticks."""
    handlers = InsightsHandlers(service)
    gallery.change(handlers.show, owner, [panel.note, panel.seconds, panel.cost], queue=False,
                   api_visibility="private", show_progress="hidden")
