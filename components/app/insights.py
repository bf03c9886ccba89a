"""What a visitor's own runs say about the trade-offs: time and cost by model, quality and size.

Only completed runs count (a failed run's time says nothing about the model). Quality and size
are the values the run was sent with ("auto" stays "auto": that is what the visitor chose).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

from components.api import schema
from components.app.backend import BackendKind
from components.app.history import RunRecord
from components.app.status import RunStatus


@dataclass(frozen=True)
class Insight:
    """One group of completed runs: the same model, quality and size."""
    model: str
    quality: str
    size: str
    runs: int
    median_seconds: float | None   # the model's own time (inference); the app's when Segmind gave none
    median_cost: float | None
    simulated: bool                # every run in it came from the emulator

    @property
    def group(self) -> str:
        return f"{self.model} · {self.quality} · {self.size}"


PARTS = ("model", "quality", "size")


@dataclass(frozen=True)
class Naming:
    """How a chart names a set of groups in the room a phone leaves beside its bars.

    Only the parts that tell the groups apart (a part they all share is said once, in words); the model by its
    name less the words every charted model's name starts with ("GPT Image"), which the axis title says once.
    """
    parts: tuple[str, ...]
    family: str

    def label(self, row: Insight) -> str:
        """ "1 mini · medium": GPT Image 1 mini at quality medium, when every group is at the same size."""
        return " · ".join(model_name(row.model).removeprefix(self.family).strip() if part == "model"
                          else getattr(row, part) for part in self.parts)

    def shared(self, rows: Sequence[Insight]) -> list[tuple[str, str]]:
        """The parts every group has the same value of (left out of the labels), and that value: ("size", "auto")."""
        return [(part, getattr(rows[0], part)) for part in PARTS if part not in self.parts] if rows else []

    @property
    def title(self) -> str:
        """ "GPT Image … · quality": what the labels name, in their order."""
        return " · ".join(f"{self.family} …" if part == "model" and self.family else part for part in self.parts)


def model_name(slug: str) -> str:
    return schema.model_or_default(slug).label


def naming(rows: Sequence[Insight]) -> Naming:
    """A lone group keeps all three parts; the model's family is left out only when two or more models are charted."""
    parts = tuple(part for part in PARTS if len({getattr(row, part) for row in rows}) > 1) or PARTS
    family = ""
    names = [model_name(slug).split() for slug in dict.fromkeys(row.model for row in rows)]
    if "model" in parts and len(names) > 1:
        shared = 0  # words every name starts with, leaving each name at least one of its own
        while shared < min(map(len, names)) - 1 and len({tuple(n[:shared + 1]) for n in names}) == 1:
            shared += 1
        family = " ".join(names[0][:shared])
    return Naming(parts, family)


def run_seconds(record: RunRecord) -> float | None:
    return record.inference_time if record.inference_time is not None else record.total_time


def option(record: RunRecord, model: schema.Model, name: str) -> str:
    """The value the run was sent with; the model's default when the record predates the option."""
    param = model.params_by_name.get(name)
    return str(record.options.get(name, param.default if param else "—"))


def insights(records: Iterable[RunRecord]) -> list[Insight]:
    """One row per (model, quality, size) among completed runs, fastest median first."""
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for record in records:
        if record.status is not RunStatus.COMPLETED:
            continue
        model = schema.model_or_default(record.model)
        groups.setdefault((model.slug, option(record, model, "quality"), option(record, model, "size")),
                          []).append(record)
    rows = []
    for (model, quality, size), runs in groups.items():
        seconds = [s for r in runs if (s := run_seconds(r)) is not None]
        costs = [r.cost for r in runs if r.cost is not None]
        rows.append(Insight(model, quality, size, len(runs),
                            statistics.median(seconds) if seconds else None,
                            statistics.median(costs) if costs else None,
                            all(r.backend == BackendKind.EMULATOR.value for r in runs)))
    return sorted(rows, key=lambda row: (row.median_seconds is None, row.median_seconds or 0.0, row.group))
