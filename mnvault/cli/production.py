"""Running a document run's production from the command line, and handing its files out.

The pages leave production to the worker of ``mnvault serve``; a script at year end may have
no server running, so the command runs the queue itself, in a thread of its own, while the
main thread shows the task's progress. Should a server's worker claim the task first, the
command just watches it finish.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from django.db import connections
from tqdm import tqdm

from mnvault.scheduler import lease, tasks
from mnvault.scheduler.models import Task, TaskStatus

POLL_SECONDS = 0.2
ENDED = (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED)


def _run_queue_until_taken(task_id: int) -> None:
    """Run queued tasks in this thread until ours has been taken (by us or another worker).
    Older queued tasks run first, as any worker would run them."""
    holder = lease.new_holder()
    try:
        while Task.objects.filter(pk=task_id, status=TaskStatus.QUEUED).exists():
            if tasks.run_next(holder=holder) is None:
                break
    finally:
        connections.close_all()  # this thread's own connections


def run_with_progress(task_id: int, *, unit: str) -> Task:
    """The task, run (or watched) to its end, with a progress bar on a terminal."""
    worker = threading.Thread(
        target=_run_queue_until_taken, args=(task_id,), name=f"mnvault-cli-task-{task_id}"
    )
    worker.start()
    with tqdm(unit=unit, disable=None) as bar:
        while True:
            task = Task.objects.get(pk=task_id)
            if task.progress_total:
                bar.total = task.progress_total
                bar.n = task.progress_done
                bar.refresh()
            if task.status in ENDED and not worker.is_alive():
                return task
            time.sleep(POLL_SECONDS)


def copy_private(source: Path, target: Path) -> None:
    """Copy to a new file only its owner reads; an existing file is never overwritten."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
