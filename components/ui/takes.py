"""Takes: one click on Run, the same edit several times, followed together and laid out as they finish.

GPT Image takes no seed, so each take comes out different: the way to get a good one is to make a few and pick.
The service starts them all at once (every take a job against each limit); the Edit tab streams one table
for all of them and a gallery that grows as each finishes. Picking a take shows it as the result, and the
button under the gallery continues from it.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Sequence

from components.app.runs import Run
from components.app.service import MAX_TAKES
from components.app.status import RunStatus
from components.ui import copy
from components.ui.serving import servable
from components.ui.status import money, pill, seconds


def takes_problem(value: Any) -> str | None:
    """What is wrong with the Takes box, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or not 1 <= value <= MAX_TAKES:
        return copy.TAKES_PROBLEM.format(limit=MAX_TAKES)
    return None


def take_count(value: Any) -> int:
    """The number of takes the box asks for (the validator has refused anything else); 1 when unset."""
    return 1 if takes_problem(value) else int(value)


def take_labels(count: int) -> list[str]:
    """Each take's label in its record: "take 2 of 3". One take is a plain run, with no label."""
    return [copy.TAKE_LABEL.format(index=i, count=count) for i in range(1, count + 1)] if count > 1 else [""]


def take_name(index: int) -> str:
    return copy.TAKE_NAME.format(index=index)


def shown_path(run: Run) -> str | None:
    """The take's image as the page shows it (the composite when the original was kept outside the mask),
    once its run has told its subscribers it completed: the composite is made before that, not after."""
    if run.latest is None or run.latest.result is None:
        return None
    return run.shown_path


def takes_table(runs: Sequence[Run]) -> str:
    """One compact row per take, and each take's error under the table."""
    rows = ["| Take | State | Time · cost |", "|---|---|---|"]
    for index, run in enumerate(runs, start=1):
        update, record = run.latest, run.record
        status = update.status if update else RunStatus.PREPARING
        elapsed = record.total_time if run.done else (update.elapsed if update else 0.0)
        rows.append(f"| {index} | {pill(status)} | {seconds(elapsed)} · {money(record.cost)} |")
    problems = [f"- **{take_name(i)}**: {run.record.error}" for i, run in enumerate(runs, start=1) if run.record.error]
    return "\n".join(rows + ([""] + problems if problems else []))


def takes_gallery(runs: Sequence[Run], shown: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The finished takes' images (each copied out once, into `shown`), captioned; and their run ids, in order."""
    items, ids = [], []
    for index, run in enumerate(runs, start=1):
        path = shown_path(run)
        if path is None:
            continue
        if run.run_id not in shown:
            shown[run.run_id] = servable(path)
        items.append((shown[run.run_id], f"{take_name(index)} · {seconds(run.record.total_time)} · "
                                         f"{money(run.record.cost)}"))
        ids.append(run.run_id)
    return items, ids


def takes_status(runs: Sequence[Run]) -> str:
    """The status line over every take: how many finished, then how many completed."""
    count = len(runs)
    live = [run for run in runs if not run.status.is_terminal]
    if live:
        elapsed = max((run.latest.elapsed for run in live if run.latest), default=0.0)
        return (f"{pill(live[0].status)} {seconds(elapsed)} · "
                f"{copy.TAKES_RUNNING.format(finished=count - len(live), count=count)}")
    completed = sum(run.status is RunStatus.COMPLETED for run in runs)
    if completed:
        return f"{pill(RunStatus.COMPLETED)} {copy.TAKES_FINISHED.format(completed=completed, count=count)}"
    return f"{pill(RunStatus.FAILED)} {copy.TAKES_NONE_COMPLETED.format(count=count)}"


async def changes(runs: Sequence[Run]) -> AsyncIterator[None]:
    """Once for each batch of updates from any of the runs (at least once a second while any is live), until
    every run has ended. Closing the iterator (a closed tab) stops the watching, never the runs."""
    queue: asyncio.Queue[bool] = asyncio.Queue()

    async def follow(run: Run) -> None:
        try:
            async for _ in run.subscribe():
                queue.put_nowait(True)
        except Exception:  # noqa: BLE001 - the run's error is in its record, and the table says it
            pass
        finally:
            queue.put_nowait(False)

    tasks = [asyncio.create_task(follow(run)) for run in runs]
    try:
        ended = 0
        while ended < len(tasks):
            ended += not await queue.get()
            while not queue.empty():  # a burst (every take ticking at once) is one change
                ended += not queue.get_nowait()
            yield
    finally:
        for task in tasks:
            task.cancel()
