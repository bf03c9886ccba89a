"""The History tab's insights: time and cost by model, quality and size, from the visitor's own runs only."""

from __future__ import annotations

from components.api.config import ClientSettings
from components.app.backend import Backend, BackendKind
from components.app.history import HistoryStore
from components.app.insights import insights
from components.app.service import EditService
from components.app.status import RunStatus
from components.ui.insights_panel import InsightsHandlers
from tests.conftest import owner_id, owner_token

MINE, THEIRS = owner_id("insights-mine"), owner_id("insights-theirs")


def kept(store: HistoryStore, owner: str, model: str, quality: str, seconds: float, cost: float,
         status: RunStatus = RunStatus.COMPLETED, backend: BackendKind = BackendKind.SEGMIND) -> None:
    record = store.create(owner=owner, inputs=None, prompt="p")
    record.model, record.options = model, {"quality": quality, "size": "1024x1024"}
    record.status, record.inference_time, record.cost, record.backend = status, seconds, cost, backend.value
    store.save(record)


def test_completed_runs_are_grouped_by_model_quality_and_size_with_median_time_and_cost(tmp_path):
    store = HistoryStore(tmp_path)
    for seconds in (10.0, 12.0, 50.0):
        kept(store, MINE, "gpt-image-2", "high", seconds, 0.2)
    kept(store, MINE, "gpt-image-2", "low", 4.0, 0.01)
    kept(store, MINE, "gpt-image-2", "low", 99.0, 0.01, status=RunStatus.FAILED)  # says nothing about the model
    rows = insights(store.records(MINE))
    assert [(r.group, r.runs, r.median_seconds, r.median_cost) for r in rows] == [
        ("gpt-image-2 · low · 1024x1024", 1, 4.0, 0.01),
        ("gpt-image-2 · high · 1024x1024", 3, 12.0, 0.2),     # the median: one slow run doesn't skew it
    ]
    assert not any(r.simulated for r in rows)


def test_the_panel_shows_only_this_browsers_runs_and_says_when_they_were_simulated(tmp_path):
    store = HistoryStore(tmp_path)
    service = EditService(Backend(ClientSettings()), store)
    kept(store, MINE, "gpt-image-2", "medium", 8.0, 0.05, backend=BackendKind.EMULATOR)
    kept(store, THEIRS, "gpt-image-2", "high", 30.0, 0.2)
    note, seconds, cost = InsightsHandlers(service).show(owner_token(service, "insights-mine"), None)
    assert list(seconds["group"]) == ["gpt-image-2 · medium · 1024x1024"] and list(cost["cost"]) == [0.05]
    assert "From 1 completed run in 1 group" in note and "simulated" in note
    note, seconds, _ = InsightsHandlers(service).show(THEIRS, None)  # an unsigned id: nobody's runs
    assert seconds.empty and "No completed runs yet" in note
