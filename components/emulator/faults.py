"""Faults the emulator can inject, for tests and benchmarks."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping


class Route(enum.Enum):
    """What a request is counted and faulted under; which paths map to which is `routes.ROUTES`."""

    SUBMIT = "submit"
    STATUS = "status"
    RESULT = "result"
    SYNC = "sync"
    UPLOAD = "upload"
    FILE = "file"
    CONTROL = "control"


class FaultKind(enum.Enum):
    STATUS = "status"        # answer with an HTTP error code and a JSON `error` (or `body` as given)
    DROP = "drop"            # close the connection without answering
    NON_JSON = "non_json"    # answer 200 with an HTML page
    SLOW = "slow"            # wait `delay` seconds, then answer normally


@dataclass
class Fault:
    route: Route
    kind: FaultKind
    status: int = 500
    detail: str = "injected fault"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    # A body written out as given instead of `{"error": detail}`, for answers in other shapes
    # (an OAuth-style JSON, plain text, an HTML page from a proxy).
    body: str | None = None
    content_type: str = "application/json"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        return cls(
            route=Route(data["route"]),
            kind=FaultKind(data.get("kind", "status")),
            status=int(data.get("status", 500)),
            detail=str(data.get("detail", "injected fault")),
            headers=dict(data.get("headers", {})),
            delay=float(data.get("delay", 0.0)),
            times=int(data.get("times", 1)),
            body=str(data["body"]) if data.get("body") is not None else None,
            content_type=str(data.get("content_type", "application/json")),
        )


class FaultPlan:
    """Faults waiting to fire, first added first used; each fires `times` times."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, route: Route) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route is route and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
