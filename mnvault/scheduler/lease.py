"""The scheduler lease: at most one process runs jobs at a time, across every server.

Taking the lease is one conditional UPDATE (the row is free, expired or already ours), or,
before the row first exists, one INSERT that the primary key lets only one process win. Both
are atomic on SQLite (one writer at a time) and on PostgreSQL (a concurrent UPDATE of the
same row waits, then re-checks its WHERE against the winner's row), so no advisory lock or
SELECT ... FOR UPDATE is needed and the code is the same for both.

Expiry compares the clocks of the servers that share the database: they are expected to be
synchronised (NTP) to well within the lease's time to live.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mnvault.scheduler.models import LEASE_ID, SchedulerLease

LEASE_TTL = timedelta(minutes=5)


def new_holder() -> str:
    """A name for this process that no other process, here or on another server, will use:
    host, process id, and a random part in case a process id is reused."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(holder: str, ttl: timedelta = LEASE_TTL, *, now: datetime | None = None) -> bool:
    """Take or renew the lease for ``ttl`` from ``now``; False while another holder's lease
    is live."""
    now = now or timezone.now()
    expires_at = now + ttl
    claimable = Q(holder="") | Q(holder=holder) | Q(expires_at__lte=now)
    updated = (
        SchedulerLease.objects.filter(pk=LEASE_ID)
        .filter(claimable)
        .update(holder=holder, expires_at=expires_at)
    )
    if updated:
        return True
    if SchedulerLease.objects.filter(pk=LEASE_ID).exists():
        return False
    return _create(holder, expires_at)


def _create(holder: str, expires_at: datetime) -> bool:
    """The very first claim: of several processes inserting at once, one wins."""
    try:
        with transaction.atomic():
            SchedulerLease.objects.create(pk=LEASE_ID, holder=holder, expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def release(holder: str, *, now: datetime | None = None) -> bool:
    """Give the lease up, if ``holder`` still has it, so another process need not wait for
    it to expire; True when it was released."""
    released = SchedulerLease.objects.filter(pk=LEASE_ID, holder=holder).update(
        holder="", expires_at=now or timezone.now()
    )
    return bool(released)


def current_holder(*, now: datetime | None = None) -> str | None:
    """Who holds a live lease, if anyone: for messages to the operator."""
    now = now or timezone.now()
    lease = SchedulerLease.objects.filter(pk=LEASE_ID, expires_at__gt=now).exclude(holder="")
    return lease.values_list("holder", flat=True).first()
