"""Job targets for the tests, importable by dotted path (also from another process)."""

from __future__ import annotations

import os
import time
from datetime import datetime

# Where ``record`` appends a line per run, for the tests that use other processes.
RUNS_FILE_VARIABLE = "MNVAULT_TEST_SCHEDULER_RUNS"
SECRET_TEXT = "山田太郎 (personal data)"
CALLS: list[tuple[str, datetime]] = []


def record(*, now: datetime) -> None:
    """Note the call in this process, and in the runs file when one is named."""
    CALLS.append(("record", now))
    path = os.environ.get(RUNS_FILE_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as runs:
            runs.write(f"{os.getpid()} {now.isoformat()}\n")
        time.sleep(0.2)  # long enough for the other processes to try meanwhile


def record_other(*, now: datetime) -> None:
    CALLS.append(("record_other", now))


def fail(*, now: datetime) -> None:
    """Fails with a message that stands for personal data: it must never be recorded."""
    CALLS.append(("fail", now))
    raise ValueError(SECRET_TEXT)
