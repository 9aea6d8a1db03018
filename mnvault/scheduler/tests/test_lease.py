"""The lease: one holder at a time, taken over only once free or expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from mnvault.scheduler import lease
from mnvault.scheduler.models import SchedulerLease

pytestmark = pytest.mark.django_db

TTL = timedelta(minutes=5)


def held() -> tuple[str, object]:
    row = SchedulerLease.objects.get()
    return row.holder, row.expires_at


def test_the_first_holder_takes_the_lease_when_there_is_no_row_yet(now):
    assert lease.acquire("a", TTL, now=now)
    assert held() == ("a", now + TTL)


def test_second_holder_cannot_take_a_live_lease(now):
    assert lease.acquire("a", TTL, now=now)
    assert not lease.acquire("b", TTL, now=now + TTL - timedelta(seconds=1))
    assert held() == ("a", now + TTL)


def test_the_holder_renews_its_own_lease(now):
    assert lease.acquire("a", TTL, now=now)
    assert lease.acquire("a", TTL, now=now + timedelta(minutes=4))
    assert held() == ("a", now + timedelta(minutes=4) + TTL)


def test_expired_lease_is_taken_over(now):
    assert lease.acquire("a", TTL, now=now)
    assert lease.acquire("b", TTL, now=now + TTL)
    assert held() == ("b", now + 2 * TTL)
    assert not lease.acquire("a", TTL, now=now + TTL)


def test_a_released_lease_is_free_for_another_holder_at_once(now):
    assert lease.acquire("a", TTL, now=now)
    assert lease.release("a", now=now)
    assert lease.current_holder(now=now) is None
    assert lease.acquire("b", TTL, now=now)
    assert lease.current_holder(now=now) == "b"


def test_only_the_holder_can_release(now):
    assert lease.acquire("a", TTL, now=now)
    assert not lease.release("b", now=now)
    assert lease.current_holder(now=now) == "a"


def test_losing_the_race_to_create_the_row_is_a_refusal_not_an_error(now):
    """Two processes find no row and both insert: the primary key lets one win."""
    assert lease._create("a", now + TTL)
    assert not lease._create("b", now + TTL)
    assert held() == ("a", now + TTL)


def test_there_is_never_a_second_lease_row(now):
    with pytest.raises(IntegrityError):
        SchedulerLease.objects.create(id=2, holder="x", expires_at=now)


def test_holders_differ_between_calls_and_name_the_host_and_process():
    first, second = lease.new_holder(), lease.new_holder()
    assert first != second
    host, pid, _random = first.split(":")
    assert host and int(pid) > 0


def test_current_holder_is_none_once_the_lease_expired():
    now = timezone.now()
    assert lease.acquire("a", TTL, now=now)
    assert lease.current_holder(now=now + TTL) is None
