"""Bulk background tasks: a queue in the database, run by a worker in every ``mnvault serve``.

One mechanism for every long job a person starts from a page — a document run for 10,000
people, a disposal batch, bulk invitations — without a task library or another service: it
works on SQLite and PostgreSQL alike (docs/architecture.md, "Background tasks").

- A task is claimed by one conditional UPDATE (``WHERE status = 'queued'``), atomic on both
  databases as the lease is (``scheduler.lease``), so several processes share the queue and
  no task runs twice.
- The claim has an expiry, renewed while the task runs (by a keeper thread, and by each
  progress report). A task whose claim ran out while 'running' lost its process: the next
  pass of any worker marks it failed, ``interrupted``, and it is never re-run on its own — a
  half-done document run must be restarted by a person who knows what was done.
- A target is called as ``target(task_id=…, **kwargs)``; it may call ``report_progress`` and
  return a small dict (counts) kept as the result.
- Nothing stored may hold a number: arguments, label and result are refused when they do
  (``domain.numbers.holds_number``), and a failure is recorded and logged by its exception's
  class only, never its message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from mnvault.domain.numbers import holds_number
from mnvault.scheduler import lease
from mnvault.scheduler.models import INTERRUPTED, Task, TaskStatus
from mnvault.scheduler.runner import STOP_TIMEOUT, error_name

log = logging.getLogger("mnvault.scheduler")

CLAIM_TTL = timedelta(minutes=2)  # how long a claim lives without renewal
RENEW_EVERY = 30.0  # seconds between renewals of a running task's claim
PROGRESS_EVERY = 0.5  # seconds between progress writes of one task (≤ 2 a second)
POLL_INTERVAL = 2.0  # seconds between the worker's looks at the queue
MAX_KWARGS_CHARS = 200_000  # room for the ids of 10,000 people
MAX_RESULT_CHARS = 2_000  # counts, not data

Scalar = str | int | bool | None


class InvalidTask(ValueError):
    """What was asked of the queue cannot be stored. The message says why, never the value
    (it may be a number)."""


# -- enqueue ---------------------------------------------------------------------------------


def enqueue(
    target: str,
    *,
    kwargs: dict,
    label: str,
    company_id: int | None = None,
    created_by_id: int | None = None,
) -> Task:
    """Queue ``target(task_id=…, **kwargs)`` to run in the background; the worker of any
    server picks it up within a poll interval (at once in this process, after commit)."""
    _check_target(target)
    _check_json(kwargs, "kwargs", limit=MAX_KWARGS_CHARS)
    if "task_id" in kwargs or not all(key.isidentifier() for key in kwargs):
        raise InvalidTask("kwargs keys must be identifiers other than task_id")
    if not label or len(label) > 200 or holds_number(label):
        raise InvalidTask("label must be 1 to 200 characters and hold no number")
    task = Task.objects.create(
        target=target,
        kwargs=kwargs,
        label=label,
        company_id=company_id,
        created_by_id=created_by_id,
    )
    transaction.on_commit(WAKE.set)
    return task


def cancel(task_id: int) -> bool:
    """Withdraw a task not yet started; False when it has started (or ended) already."""
    cancelled = Task.objects.filter(pk=task_id, status=TaskStatus.QUEUED).update(
        status=TaskStatus.CANCELLED, finished_at=timezone.now()
    )
    return bool(cancelled)


def _check_target(target: str) -> None:
    """A typo in a page's target fails here, where it is made, not later in the worker."""
    try:
        function = import_string(target)
    except ImportError:
        raise InvalidTask("target cannot be imported") from None
    if not callable(function):
        raise InvalidTask("target is not callable")


def _check_json(value: object, what: str, *, limit: int) -> None:
    """A dict of str keys to str/int/bool/None or lists of them, small, holding no number."""
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidTask(f"{what} must be a dict with str keys")
    for item in value.values():
        items = item if isinstance(item, list) else [item]
        if not all(_is_scalar(element) for element in items):
            raise InvalidTask(f"{what} values must be str, int, bool, None or lists of them")
    text = json.dumps(value, ensure_ascii=False)  # full-width digits stay digits
    if len(text) > limit:
        raise InvalidTask(f"{what} is larger than {limit} characters")
    if holds_number(text):
        raise InvalidTask(f"{what} holds an individual number")


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | bool)


# -- progress --------------------------------------------------------------------------------

_progress_lock = threading.Lock()
# task id -> time.monotonic() and value of its last progress write
_written: dict[int, tuple[float, tuple[int, int]]] = {}
_unwritten: dict[int, tuple[int, int]] = {}  # task id -> progress held back by the throttle


def report_progress(task_id: int, done: int, total: int) -> None:
    """How far a running task is, for its page; also renews the task's claim. Cheap enough
    to call for every person: at most two writes a second reach the database, and a value
    held back is written when the task ends (or at once when ``done`` reaches ``total``)."""
    value = (max(done, 0), max(total, 0))
    with _progress_lock:
        if _held_back(task_id, value):
            return
        _written[task_id] = (time.monotonic(), value)
        _unwritten.pop(task_id, None)
    Task.objects.filter(pk=task_id, status=TaskStatus.RUNNING).update(
        progress_done=value[0], progress_total=value[1], claimed_until=timezone.now() + CLAIM_TTL
    )


def _held_back(task_id: int, value: tuple[int, int]) -> bool:
    """Whether the throttle keeps this report from the database (for now); under the lock."""
    last = _written.get(task_id)
    if last is None:
        return False
    at, written = last
    if value == written:
        _unwritten.pop(task_id, None)
        return True
    if value[0] >= value[1] or time.monotonic() - at >= PROGRESS_EVERY:
        return False
    _unwritten[task_id] = value
    return True


def _take_unwritten(task_id: int) -> dict[str, int]:
    """The progress the throttle held back, as fields for the task's final write."""
    with _progress_lock:
        _written.pop(task_id, None)
        held = _unwritten.pop(task_id, None)
    return {} if held is None else {"progress_done": held[0], "progress_total": held[1]}


# -- running ---------------------------------------------------------------------------------


def run_next(*, holder: str) -> Task | None:
    """Mark tasks whose process died as interrupted, then claim the oldest queued task and
    run it in the calling thread; the task as it ended, or None when the queue is empty."""
    mark_interrupted()
    task = _claim(holder)
    if task is None:
        return None
    _run(task, holder)
    task.refresh_from_db()
    return task


def run_pending(*, holder: str | None = None) -> int:
    """Run every queued task, one after the other, in the calling thread; how many ran."""
    holder = holder or lease.new_holder()
    count = 0
    while run_next(holder=holder) is not None:
        count += 1
    return count


def mark_interrupted(*, now: datetime | None = None) -> int:
    """Fail every running task whose claim expired: its process died (or stalled past the
    claim's life). Never re-queued: a person decides whether to start it again."""
    now = now or timezone.now()
    expired = Task.objects.filter(status=TaskStatus.RUNNING, claimed_until__lt=now)
    if not expired.exists():  # the usual case, decided without SQLite's write lock
        return 0
    marked = expired.update(status=TaskStatus.FAILED, error=INTERRUPTED, finished_at=now)
    if marked:
        log.warning("%d task(s) interrupted: their claim expired while running", marked)
    return marked


def _claim(holder: str) -> Task | None:
    """The oldest queued task, now running as ``holder``'s. Another process may take a
    candidate between the SELECT and the UPDATE: the UPDATE's condition then matches no row
    (PostgreSQL re-checks it against the winner's row; SQLite has one writer at a time), and
    the next candidate is tried."""
    while True:
        candidate = _oldest_queued()
        if candidate is None:
            return None
        now = timezone.now()
        claimed = Task.objects.filter(pk=candidate, status=TaskStatus.QUEUED).update(
            status=TaskStatus.RUNNING,
            claimed_by=holder,
            claimed_until=now + CLAIM_TTL,
            started_at=now,
        )
        if claimed:
            return Task.objects.get(pk=candidate)


def _oldest_queued() -> int | None:
    """The id of the task to try next (another process may claim it first)."""
    queued = Task.objects.filter(status=TaskStatus.QUEUED).order_by("created_at", "id")
    return queued.values_list("pk", flat=True).first()


def _run(task: Task, holder: str) -> None:
    """Run the claimed task, keeping its claim alive, and record how it ended; a failure is
    logged and recorded by exception class, never raised."""
    started = time.monotonic()
    keeper = _ClaimKeeper(task.pk, holder)
    keeper.start()
    try:
        returned = import_string(task.target)(task_id=task.pk, **task.kwargs)
    except Exception as error:
        fields: dict[str, Any] = {"status": TaskStatus.FAILED, "error": error_name(error)[:200]}
        log.error("task %s (%s) failed: %s", task.pk, task.target, fields["error"])
    else:
        fields = {"status": TaskStatus.DONE, "result": _kept_result(task, returned)}
        log.info("task %s (%s) done in %.1f s", task.pk, task.target, time.monotonic() - started)
    finally:
        keeper.stop()
    fields |= _take_unwritten(task.pk)
    ended = Task.objects.filter(pk=task.pk, status=TaskStatus.RUNNING, claimed_by=holder).update(
        finished_at=timezone.now(), **fields
    )
    if not ended:
        log.warning("task %s ended after its claim was lost; left as recorded", task.pk)


def _kept_result(task: Task, returned: object) -> dict | None:
    """The function's return value when it is a small dict fit to store; else nothing."""
    if returned is None or not isinstance(returned, dict):
        return None
    try:
        _check_json(returned, "result", limit=MAX_RESULT_CHARS)
    except InvalidTask:
        log.warning("task %s (%s): result not kept (not a small plain dict)", task.pk, task.target)
        return None
    return returned


class _ClaimKeeper:
    """Renews a running task's claim every ``RENEW_EVERY`` seconds, so a long step without
    progress reports (one large PDF) does not look like a dead process."""

    def __init__(self, task_id: int, holder: str) -> None:
        self.task_id, self.holder = task_id, holder
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=self._keep, name=f"mnvault-task-{task_id}-claim", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(STOP_TIMEOUT)

    def _keep(self) -> None:
        try:
            while not self.done.wait(RENEW_EVERY):
                self._renew()
        finally:
            connections.close_all()  # this thread's own connections

    def _renew(self) -> None:
        try:
            Task.objects.filter(
                pk=self.task_id, status=TaskStatus.RUNNING, claimed_by=self.holder
            ).update(claimed_until=timezone.now() + CLAIM_TTL)
        except Exception as error:  # the database away: the next renewal tries again
            log.warning("task %s claim not renewed: %s", self.task_id, error_name(error))
        finally:
            close_old_connections()


# -- the worker ------------------------------------------------------------------------------

WAKE = threading.Event()  # set when a task is queued in this process: no need to wait a poll


class TaskWorker:
    """Runs queued tasks, one at a time, in a thread of every ``mnvault serve``: polls every
    ``interval`` seconds (or at once when this process queued one) until ``stop`` is set.
    No lease: claims are per task, so the workers of several servers share the queue."""

    def __init__(
        self,
        *,
        interval: float = POLL_INTERVAL,
        stop: threading.Event | None = None,
        holder: str | None = None,
    ) -> None:
        self.interval = interval
        self.stop = stop or threading.Event()
        self.holder = holder or lease.new_holder()
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Run tasks until stopped, in the calling thread."""
        while not self.stop.is_set():
            WAKE.clear()
            self._guarded_pass()
            WAKE.wait(self.interval)

    def start(self) -> threading.Thread:
        """Run the worker in a daemon thread of its own."""
        self.thread = threading.Thread(
            target=self._run_in_thread, name="mnvault-tasks", daemon=True
        )
        self.thread.start()
        return self.thread

    def shutdown(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop taking tasks and wait (a while) for the one under way. One that outlasts the
        wait dies with the process, and is marked interrupted once its claim expires."""
        self.stop.set()
        WAKE.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _guarded_pass(self) -> None:
        """Run queued tasks until none is left or the worker is stopped; a failure outside
        a task (the database away) is logged, and the next pass tries again."""
        try:
            while not self.stop.is_set() and run_next(holder=self.holder) is not None:
                close_old_connections()
        except Exception as error:
            log.error("task worker pass failed: %s", error_name(error))
        finally:
            close_old_connections()

    def _run_in_thread(self) -> None:
        try:
            self.run()
        finally:
            connections.close_all()
