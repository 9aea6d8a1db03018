"""Loops that must never stop silently, and how healthy they are.

The audit log's checkpoint loop runs in every ``mnvault serve`` process, outside the
scheduler's lease; if it failed only into the log, the signed checkpoints — what proves the
log was not rewritten — could stop for weeks unseen. Each round is recorded here (times, and
the exception's class only, never its message), and ``health`` says whether the loop is
overdue or failing: ``/healthz`` answers 503 and the dashboard warns those who audit
(docs/architecture.md, "Audit log").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.utils import timezone

from mnvault.scheduler.models import Heartbeat
from mnvault.scheduler.runner import error_name

log = logging.getLogger("mnvault.scheduler")

CHECKPOINTS = "audit.checkpoint"  # the checkpoint loop of `mnvault serve`
# A loop is overdue when nothing succeeded for this many of its intervals since it started
# or last succeeded: one late round is normal, three are not.
OVERDUE_AFTER = 3

T = TypeVar("T")


def started(name: str, *, every: timedelta, now: datetime | None = None) -> None:
    """A loop starts (in any process): its interval, and the time from which it is judged."""
    now = now or timezone.now()
    _, created = Heartbeat.objects.get_or_create(
        name=name, defaults={"every": every, "started_at": now}
    )
    if not created:
        Heartbeat.objects.filter(name=name).update(every=every, started_at=now)


def run(name: str, action: Callable[[], T], *, now: datetime | None = None) -> T | None:
    """One round of the loop: ``action``'s result, or None when it failed — then the
    failure is logged and recorded by exception class, never raised."""
    now = now or timezone.now()
    try:
        result = action()
    except Exception as error:
        log.error("%s failed: %s", name, error_name(error))
        _record(name, now, last_failure_at=now, last_error=error_name(error)[:200])
        return None
    _record(name, now, last_success_at=now)
    return result


def _record(name: str, now: datetime, **fields: object) -> None:
    updated = Heartbeat.objects.filter(name=name).update(last_attempt_at=now, **fields)
    if not updated:  # a round without a recorded start (a command, a test): judged from now
        Heartbeat.objects.get_or_create(
            name=name, defaults={"every": timedelta(0), "started_at": now}
        )
        Heartbeat.objects.filter(name=name).update(last_attempt_at=now, **fields)


@dataclass(frozen=True)
class Health:
    """How a loop is doing. ``problem`` is empty when well, else ``failed`` (its last round
    failed) or ``overdue`` (nothing succeeded for ``OVERDUE_AFTER`` intervals)."""

    problem: str = ""
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def health(name: str, *, now: datetime | None = None) -> Health:
    """The loop's health. A loop never started (no server ran yet, or a test) is well: there
    is nothing to judge."""
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return Health()
    now = now or timezone.now()
    success, failure = beat.last_success_at, beat.last_failure_at
    if failure is not None and (success is None or failure >= success):
        return Health("failed", success, failure, beat.last_error)
    since = max(beat.started_at, success or beat.started_at)
    if beat.every > timedelta(0) and now - since > OVERDUE_AFTER * beat.every:
        return Health("overdue", success, failure)
    return Health("", success, failure)
