"""Loops that must never stop silently (the audit log's checkpoints): each round recorded,
failures by exception class only, and a loop that fails or falls behind judged unwell."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mnvault.scheduler import heartbeat
from mnvault.scheduler.models import Heartbeat
from mnvault.scheduler.tests.sample_jobs import SECRET_TEXT

pytestmark = pytest.mark.django_db

NAME = "test.loop"
EVERY = timedelta(minutes=5)


def fails() -> None:
    raise ValueError(SECRET_TEXT)


def test_a_loop_never_started_is_well(now):
    assert heartbeat.health(NAME, now=now).ok


def test_a_successful_round_is_recorded_and_returns_its_result(now):
    heartbeat.started(NAME, every=EVERY, now=now)
    assert heartbeat.run(NAME, lambda: 42, now=now + EVERY) == 42
    beat = Heartbeat.objects.get(name=NAME)
    assert (beat.last_attempt_at, beat.last_success_at, beat.last_failure_at) == (
        now + EVERY,
        now + EVERY,
        None,
    )
    assert heartbeat.health(NAME, now=now + EVERY).ok


def test_a_failed_round_is_recorded_by_class_only_and_not_raised(now, caplog):
    heartbeat.started(NAME, every=EVERY, now=now)
    assert heartbeat.run(NAME, fails, now=now) is None
    beat = Heartbeat.objects.get(name=NAME)
    assert (beat.last_failure_at, beat.last_error) == (now, "ValueError")
    assert SECRET_TEXT not in caplog.text
    health = heartbeat.health(NAME, now=now)
    assert (health.ok, health.problem, health.error) == (False, "failed", "ValueError")


def test_a_success_after_a_failure_makes_it_well_again(now):
    heartbeat.started(NAME, every=EVERY, now=now)
    heartbeat.run(NAME, fails, now=now)
    heartbeat.run(NAME, lambda: None, now=now + EVERY)
    health = heartbeat.health(NAME, now=now + EVERY)
    assert health.ok
    assert (health.last_success_at, health.last_failure_at) == (now + EVERY, now)


def test_a_failure_after_a_success_is_unwell_and_keeps_the_last_success(now):
    heartbeat.started(NAME, every=EVERY, now=now)
    heartbeat.run(NAME, lambda: None, now=now)
    heartbeat.run(NAME, fails, now=now + EVERY)
    health = heartbeat.health(NAME, now=now + EVERY)
    assert (health.problem, health.last_success_at) == ("failed", now)


@pytest.mark.parametrize(
    ("late", "problem"),
    [(timedelta(0), ""), (3 * EVERY, ""), (3 * EVERY + timedelta(seconds=1), "overdue")],
    ids=["on time", "three intervals", "past three intervals"],
)
def test_a_loop_with_no_success_for_three_intervals_is_overdue(now, late, problem):
    heartbeat.started(NAME, every=EVERY, now=now)
    heartbeat.run(NAME, lambda: None, now=now)
    assert heartbeat.health(NAME, now=now + late).problem == problem


def test_a_loop_that_started_and_never_ran_a_round_becomes_overdue(now):
    heartbeat.started(NAME, every=EVERY, now=now)
    assert heartbeat.health(NAME, now=now + 2 * EVERY).ok
    assert heartbeat.health(NAME, now=now + 4 * EVERY).problem == "overdue"


def test_a_restart_after_a_long_stop_is_judged_from_the_restart(now):
    heartbeat.started(NAME, every=EVERY, now=now)
    heartbeat.run(NAME, lambda: None, now=now)
    later = now + timedelta(days=2)
    heartbeat.started(NAME, every=EVERY, now=later)
    assert heartbeat.health(NAME, now=later + EVERY).ok
    assert heartbeat.health(NAME, now=later + 4 * EVERY).problem == "overdue"


def test_a_round_without_a_recorded_start_is_still_recorded(now):
    heartbeat.run(NAME, fails, now=now)
    assert heartbeat.health(NAME, now=now + timedelta(days=1)).problem == "failed"
    heartbeat.run(NAME, lambda: None, now=now + timedelta(days=1))
    assert heartbeat.health(NAME, now=now + timedelta(days=30)).ok  # no interval to judge by
