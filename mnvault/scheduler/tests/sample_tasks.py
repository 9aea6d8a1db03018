"""Task targets for the tests, importable by dotted path (also from another process)."""

from __future__ import annotations

import os
import random
import time

from mnvault.domain.numbers import generate_fake
from mnvault.scheduler import tasks
from mnvault.scheduler.models import Task

# Where ``record`` appends a line per run, for the tests that use other processes.
RUNS_FILE_VARIABLE = "MNVAULT_TEST_TASK_RUNS"
# A generated number with a valid check digit, standing for what an exception might quote (this
# seed's has no leading zero, so it stays a number as an int too).
SECRET_NUMBER = generate_fake(random.Random(20261130))
SECRET_TEXT = f"secret {SECRET_NUMBER}"
CALLS: list[tuple[int, dict]] = []


def count(*, task_id: int, people: list[int], tag: str = "") -> dict:
    """Goes through the people reporting progress, as a document run would; the counts."""
    CALLS.append((task_id, {"people": people, "tag": tag}))
    for done in range(1, len(people) + 1):
        tasks.report_progress(task_id, done, len(people))
    return {"people": len(people), "tag": tag}


def fail(*, task_id: int) -> None:
    CALLS.append((task_id, {}))
    raise ValueError(SECRET_TEXT)


# What ``returns`` returns, by name: for what is kept as a result.
RESULTS: dict[str, object] = {
    "small dict": {"pages": 12, "people": [1, 2]},
    "nothing": None,
    "not a dict": "done",
    "float": {"pages": 1.5},
    "too large": {"people": list(range(1_000))},
    "a number": {"note": SECRET_TEXT},
}


def returns(*, task_id: int, result: str) -> object:
    return RESULTS[result]


def hold_back(*, task_id: int) -> None:
    """Two reports in quick succession, the second below the total: the throttle holds it
    back, and the end of the task must write it."""
    tasks.report_progress(task_id, 1, 10)
    tasks.report_progress(task_id, 7, 10)


def many_reports(*, task_id: int, reports: int) -> None:
    for done in range(1, reports + 1):
        tasks.report_progress(task_id, done, reports)
        time.sleep(0.0005)


def repeat_final(*, task_id: int, times: int) -> None:
    for _ in range(times):
        tasks.report_progress(task_id, times, times)


def wait_for_renewal(*, task_id: int) -> dict:
    """Waits until the claim keeper has renewed the claim (a few seconds at most)."""
    first = Task.objects.values_list("claimed_until", flat=True).get(pk=task_id)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = Task.objects.values_list("claimed_until", flat=True).get(pk=task_id)
        if now != first:
            return {"renewed": True}
        time.sleep(0.02)
    return {"renewed": False}


def record(*, task_id: int) -> None:
    """Note the run in the runs file: which process ran which task."""
    CALLS.append((task_id, {}))
    path = os.environ.get(RUNS_FILE_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as runs:
            runs.write(f"{os.getpid()} {task_id}\n")
    time.sleep(0.02)  # long enough for the other processes to try meanwhile


not_callable = 42
