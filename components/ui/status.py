"""How each run status looks: one table from status to label and colour, and the formatting around it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.app.status import RunStatus, money, seconds  # noqa: F401 (the UI's formatting, kept with the statuses)

if TYPE_CHECKING:
    from components.app.runs import RunUpdate

# status → (label shown, pill colour). Every tab, the history and the CSS read this table.
STATUS_STYLE: dict[RunStatus, tuple[str, str]] = {
    RunStatus.NEW: ("NEW", "#607d8b"),
    RunStatus.WAITING: ("WAITING", "#8d6e63"),
    RunStatus.PREPARING: ("PREPARING", "#8d6e63"),
    RunStatus.SUBMITTING: ("SUBMITTING", "#8d6e63"),
    RunStatus.QUEUED: ("QUEUED", "#8d6e63"),
    RunStatus.PROCESSING: ("PROCESSING", "#1e88e5"),
    RunStatus.FETCHING: ("FETCHING RESULT", "#1e88e5"),
    RunStatus.COMPLETED: ("COMPLETED", "#2e7d32"),
    RunStatus.FAILED: ("FAILED", "#c62828"),
    RunStatus.STOPPED: ("STOPPED", "#6d4c41"),
    RunStatus.ERROR: ("ERROR", "#c62828"),
    RunStatus.INTERRUPTED: ("INTERRUPTED", "#6d4c41"),
}
# A form that was refused before anything started: not a run status, styled like a failure.
CHECK_LABEL = "CHECK"

assert set(STATUS_STYLE) == set(RunStatus), "every run status needs a label and a colour"


def label(status: RunStatus) -> str:
    return STATUS_STYLE[status][0]


def pill(status: RunStatus) -> str:
    return f'<span class="state state-{status.value}">{label(status)}</span>'


def check_pill() -> str:
    return f'<span class="state state-{RunStatus.FAILED.value}">{CHECK_LABEL}</span>'


def status_css() -> str:
    rules = [".state { padding: 2px 10px; border-radius: 999px; font-weight: 700; color: #fff; }"]
    rules += [f".state-{status.value} {{ background: {colour}; }}" for status, (_, colour) in STATUS_STYLE.items()]
    return "\n".join(rules)


def backend_label(kind_value: str | None) -> str:
    return "built-in emulator (simulated)" if kind_value == "emulator" else "Segmind"


def status_line(update: RunUpdate, backend: str | None, model: str | None = None) -> str:
    """One line on a run: state, time, request, polls, what is happening, on which model and service."""
    parts = [pill(update.status), f"{update.elapsed:.1f} s"]
    if update.request_id:
        parts.append(f"request `{update.request_id}`")
    if update.polls:
        parts.append(f"{update.polls} polls")
    if update.detail:
        parts.append(update.detail)  # what is happening: uploading n MB, or polls slowed by a rate limit
    if update.error and not update.status.is_terminal:
        parts.append(update.error)  # a passing problem while polling, e.g. a 503 being waited out
    parts.append(f"`{model}` on {backend_label(backend)}" if model else backend_label(backend))
    return " · ".join(parts)
