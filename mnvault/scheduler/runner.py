"""Running the jobs that are due, under the lease, and the loop that does so periodically.

A job is recorded as started before it runs: a process that dies during a job does not run
it again before its interval has passed (a reminder missed once is better than one sent
twice). Failures are logged and recorded by exception class only, never by message, since a
message may quote personal data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import close_old_connections, connections
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from mnvault.scheduler import lease
from mnvault.scheduler.jobs import JOBS, Job
from mnvault.scheduler.models import JobState, Outcome

log = logging.getLogger("mnvault.scheduler")

DEFAULT_INTERVAL = 60.0  # seconds between ticks
STOP_TIMEOUT = 10.0  # seconds to wait for a tick under way when stopping


def error_name(error: BaseException) -> str:
    """The exception's class, qualified unless built in: all that is logged of a failure."""
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def is_due(job: Job, state: JobState | None, now: datetime) -> bool:
    """Never run, or its interval since the last start has passed."""
    if state is None or state.last_started_at is None:
        return True
    return state.last_started_at + job.every <= now


def run_due_jobs(
    *,
    now: datetime,
    holder: str,
    jobs: Sequence[Job] = JOBS,
    ttl: timedelta = lease.LEASE_TTL,
) -> list[str]:
    """Run each due job once, if ``holder`` has or can take the lease; the names of the jobs
    run, failed ones included. The lease is renewed before each job, and the tick stops
    early if it was lost meanwhile (a job outlived it)."""
    if not lease.acquire(holder, ttl):
        return []
    states = {s.name: s for s in JobState.objects.filter(name__in=[job.name for job in jobs])}
    ran: list[str] = []
    for job in jobs:
        if not is_due(job, states.get(job.name), now):
            continue
        if not lease.acquire(holder, ttl):
            log.warning("scheduler lease lost before job %s; stopping this tick", job.name)
            break
        _run_one(job, now)
        ran.append(job.name)
    return ran


def _run_one(job: Job, now: datetime) -> None:
    """Run one job and record how it went; a failure is logged, never raised."""
    _record_start(job.name, now)
    started = time.monotonic()
    try:
        import_string(job.target)(now=now)
    except Exception as error:
        outcome, error_class = Outcome.FAILED, error_name(error)
        log.error("job %s failed: %s", job.name, error_class)
    else:
        outcome, error_class = Outcome.OK, ""
        log.info("job %s done in %.1f s", job.name, time.monotonic() - started)
    finished_at = now + timedelta(seconds=time.monotonic() - started)
    JobState.objects.filter(name=job.name).update(
        last_finished_at=finished_at, last_outcome=outcome, last_error=error_class
    )


def _record_start(name: str, now: datetime) -> None:
    JobState.objects.get_or_create(name=name)
    JobState.objects.filter(name=name).update(
        last_started_at=now, last_outcome="", last_error="", runs=F("runs") + 1
    )


class SchedulerLoop:
    """Ticks every ``interval`` seconds until ``stop`` is set, the first tick at once; then
    gives the lease up so another process can take over without waiting for it to expire.

    The lease lives several ticks, so a holder keeps it from tick to tick and another
    process takes over only when this one stops or stalls.
    """

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        jobs: Sequence[Job] = JOBS,
        stop: threading.Event | None = None,
        holder: str | None = None,
    ) -> None:
        self.interval = interval
        self.jobs = tuple(jobs)
        self.stop = stop or threading.Event()
        self.holder = holder or lease.new_holder()
        self.ttl = max(lease.LEASE_TTL, timedelta(seconds=3 * interval))
        self.thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """One round: the names of the jobs run (empty when another process has the lease)."""
        return run_due_jobs(now=timezone.now(), holder=self.holder, jobs=self.jobs, ttl=self.ttl)

    def run(self) -> None:
        """Tick until stopped, in the calling thread; release the lease at the end."""
        try:
            while True:
                self._guarded_tick()
                if self.stop.wait(self.interval):
                    break
        finally:
            self.release()

    def release(self) -> None:
        """Give the lease up if this loop has it; a failure only means it expires later."""
        try:
            lease.release(self.holder)
        except Exception as error:
            log.warning("scheduler lease not released: %s", error_name(error))

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread of its own."""
        self.thread = threading.Thread(
            target=self._run_in_thread, name="mnvault-scheduler", daemon=True
        )
        self.thread.start()
        return self.thread

    def shutdown(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the thread and wait (a while) for a tick under way to end and the lease to
        be released."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _guarded_tick(self) -> None:
        """A tick whose failure (the database away, say) is logged, not fatal: the next tick
        tries again. The connection is closed when it is too old or broken."""
        try:
            self.tick()
        except Exception as error:
            log.error("scheduler tick failed: %s", error_name(error))
        finally:
            close_old_connections()

    def _run_in_thread(self) -> None:
        try:
            self.run()
        finally:
            connections.close_all()  # this thread's own connections
