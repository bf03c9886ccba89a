"""The History tab's insights: time and cost by model, quality and size, from the visitor's own runs only."""

from __future__ import annotations

from components.api.config import ClientSettings
from components.app.backend import Backend, BackendKind
from components.app.history import HistoryStore
from components.app.insights import Insight, insights, naming
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
    assert list(seconds["value"]["group"]) == ["gpt-image-2 · medium · 1024x1024"]
    assert list(cost["value"]["cost"]) == [0.05]
    assert "From 1 completed run in 1 group" in note and "simulated" in note
    note, seconds, _ = InsightsHandlers(service).show(THEIRS, None)  # an unsigned id: nobody's runs
    assert seconds["value"].empty and "No completed runs yet" in note


def group(model: str, quality: str, size: str = "auto") -> Insight:
    return Insight(model, quality, size, runs=1, median_seconds=1.0, median_cost=0.01, simulated=False)


def test_the_charts_name_each_group_by_what_tells_it_apart_so_a_phone_has_room_for_the_bars(tmp_path):
    """A part every group shares is said once, in the note; models lose the words all their names start with."""
    rows = [group(model, quality) for model in ("gpt-image-1-edit", "gpt-image-1-edit-mini", "gpt-image-2")
            for quality in ("low", "high")]
    names = naming(rows)
    assert [names.label(r) for r in rows] == ["1 · low", "1 · high", "1 mini · low", "1 mini · high", "2 · low",
                                              "2 · high"]
    assert names.title == "GPT Image … · quality"
    store = HistoryStore(tmp_path)
    service = EditService(Backend(ClientSettings()), store)
    kept(store, MINE, "gpt-image-2", "low", 4.0, 0.01)
    kept(store, MINE, "gpt-image-2", "high", 9.0, 0.2)
    note, seconds, _ = InsightsHandlers(service).show(owner_token(service, "insights-mine"), None)
    assert list(seconds["value"]["label"]) == ["low", "high"] and seconds["y_title"] == "quality"
    assert "All 2 groups: model gpt-image-2, size 1024x1024." in note

    # One model at two sizes; a lone group, named whole.
    sizes = naming([group("gpt-image-2", "low"), group("gpt-image-2", "low", "1024x1024")])
    assert sizes.parts == ("size",) and sizes.label(group("gpt-image-2", "low", "1024x1024")) == "1024x1024"
    alone = naming([group("gpt-image-1-edit-mini", "high")])
    assert alone.label(group("gpt-image-1-edit-mini", "high")) == "GPT Image 1 mini · high · auto"
    assert alone.title == "model · quality · size"
