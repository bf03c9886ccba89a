"""The one list of states a run goes through, from click to end, on every tab and in every record; and how
its cost and times read, wherever they are shown (the UI, boards)."""

from __future__ import annotations

import enum

from components.api.schema import JobState


class RunStatus(enum.Enum):
    NEW = "NEW"                # recorded, not started yet
    WAITING = "WAITING"        # a sweep variant waiting for a free slot
    PREPARING = "PREPARING"    # checking and uploading inputs
    SUBMITTING = "SUBMITTING"  # the paid submit is on its way
    QUEUED = JobState.QUEUED.value
    PROCESSING = JobState.PROCESSING.value
    FETCHING = "FETCHING"      # finished at Segmind; its result is still being fetched
    COMPLETED = JobState.COMPLETED.value
    FAILED = JobState.FAILED.value
    STOPPED = "STOPPED"        # no longer followed (the job itself may go on)
    ERROR = "ERROR"            # this app failed, not the job
    INTERRUPTED = "INTERRUPTED"  # the app restarted while following it

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @classmethod
    def of_job(cls, state: JobState, has_result: bool = True) -> RunStatus:
        """A job's state as a run's; a COMPLETED job is the run's COMPLETED only once its result is here."""
        if state is JobState.COMPLETED and not has_result:
            return cls.FETCHING
        return cls(state.value)

    @classmethod
    def parse(cls, value: object) -> RunStatus:
        """A stored status; anything unknown reads as ERROR rather than failing to load a record."""
        try:
            return cls(value)
        except ValueError:
            return cls.ERROR


_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.ERROR,
                       RunStatus.INTERRUPTED})


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}".rstrip("0").rstrip(".")


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"
