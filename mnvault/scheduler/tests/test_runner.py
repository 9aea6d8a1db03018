"""Running the due jobs under the lease, and the loop that does so periodically."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.utils.module_loading import import_string

from mnvault.scheduler import lease
from mnvault.scheduler.jobs import JOBS, Job
from mnvault.scheduler.models import JobState, Outcome
from mnvault.scheduler.runner import SchedulerLoop, is_due, run_due_jobs
from mnvault.scheduler.tests.conftest import FAIL, HOUR, RECORD, RECORD_OTHER
from mnvault.scheduler.tests.sample_jobs import SECRET_TEXT

pytestmark = pytest.mark.django_db


def state(job: Job) -> JobState:
    return JobState.objects.get(name=job.name)


def test_every_registered_job_has_a_unique_name_and_an_importable_target():
    """A typo in the registry would otherwise show only as a failed run in production."""
    assert len({job.name for job in JOBS}) == len(JOBS)
    for job in JOBS:
        assert callable(import_string(job.target)), job.name
        assert job.every > timedelta(0), job.name


def test_a_job_never_run_is_run_and_recorded(now, calls):
    assert run_due_jobs(now=now, holder="me", jobs=[RECORD]) == [RECORD.name]
    assert calls == [("record", now)]
    recorded = state(RECORD)
    assert (recorded.runs, recorded.last_outcome, recorded.last_error) == (1, Outcome.OK, "")
    assert recorded.last_started_at == now
    assert recorded.last_finished_at >= now


def test_job_not_due_is_not_run(now, calls):
    run_due_jobs(now=now, holder="me", jobs=[RECORD])
    assert run_due_jobs(now=now + HOUR - timedelta(seconds=1), holder="me", jobs=[RECORD]) == []
    assert len(calls) == 1
    assert state(RECORD).runs == 1


def test_a_job_runs_again_once_its_interval_has_passed(now, calls):
    run_due_jobs(now=now, holder="me", jobs=[RECORD])
    assert run_due_jobs(now=now + HOUR, holder="me", jobs=[RECORD]) == [RECORD.name]
    assert calls == [("record", now), ("record", now + HOUR)]
    assert state(RECORD).runs == 2


def test_failing_job_does_not_stop_the_others(now, calls, caplog):
    with caplog.at_level(logging.INFO, logger="mnvault.scheduler"):
        ran = run_due_jobs(now=now, holder="me", jobs=[FAIL, RECORD])
    assert ran == [FAIL.name, RECORD.name]
    assert [name for name, _ in calls] == ["fail", "record"]
    failed = state(FAIL)
    assert (failed.last_outcome, failed.last_error, failed.runs) == (
        Outcome.FAILED,
        "ValueError",
        1,
    )
    assert state(RECORD).last_outcome == Outcome.OK
    assert "job test.fail failed: ValueError" in caplog.messages


def test_a_failure_leaves_no_exception_text_in_the_log_or_the_database(now, caplog):
    with caplog.at_level(logging.DEBUG):
        run_due_jobs(now=now, holder="me", jobs=[FAIL])
    assert SECRET_TEXT not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    assert SECRET_TEXT not in repr(list(JobState.objects.values()))


def test_a_failed_job_waits_for_its_interval_like_any_other(now, calls):
    run_due_jobs(now=now, holder="me", jobs=[FAIL])
    assert run_due_jobs(now=now + timedelta(minutes=1), holder="me", jobs=[FAIL]) == []


def test_a_target_that_cannot_be_imported_is_a_failed_run(now):
    missing = Job("test.missing", "mnvault.scheduler.tests.sample_jobs.no_such_job", HOUR)
    assert run_due_jobs(now=now, holder="me", jobs=[missing, RECORD]) == [missing.name, RECORD.name]
    assert state(missing).last_error == "ImportError"


def test_nothing_runs_while_another_holder_has_the_lease(now, calls):
    assert lease.acquire("other")
    assert run_due_jobs(now=now, holder="me", jobs=[RECORD, RECORD_OTHER]) == []
    assert calls == []
    assert not JobState.objects.exists()


def test_running_jobs_takes_and_keeps_the_lease(now):
    run_due_jobs(now=now, holder="me", jobs=[RECORD])
    assert lease.current_holder() == "me"
    assert run_due_jobs(now=now, holder="other", jobs=[RECORD_OTHER]) == []


def test_a_job_is_due_one_interval_after_its_last_start(now):
    job_state = JobState(name=RECORD.name, last_started_at=now)
    assert not is_due(RECORD, job_state, now + HOUR - timedelta(microseconds=1))
    assert is_due(RECORD, job_state, now + HOUR)
    assert is_due(RECORD, None, now)


@pytest.mark.django_db(transaction=True)
def test_the_loop_ticks_at_once_then_gives_the_lease_up_when_stopped(calls):
    stop = threading.Event()
    stop.set()  # one tick, then out
    loop = SchedulerLoop(interval=3600, jobs=[RECORD], stop=stop, holder="loop")
    loop.run()
    assert [name for name, _ in calls] == ["record"]
    assert lease.current_holder() is None
    assert lease.acquire("next")


@pytest.mark.django_db(transaction=True)
def test_the_loop_thread_ticks_until_the_event_is_set(calls):
    every_tick = Job("test.every_tick", RECORD.target, timedelta(0))
    loop = SchedulerLoop(interval=0.02, jobs=[every_tick], holder="loop")
    thread = loop.start()
    assert thread.name == "mnvault-scheduler" and thread.daemon
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.shutdown()
    assert not thread.is_alive()
    assert len(calls) >= 3
    after_stop = len(calls)
    time.sleep(0.1)
    assert len(calls) == after_stop
    assert lease.current_holder() is None


@pytest.mark.django_db(transaction=True)
def test_a_failing_tick_is_logged_and_the_loop_goes_on(monkeypatch, caplog):
    ticks: list[int] = []
    stop = threading.Event()

    def broken_tick() -> list[str]:
        ticks.append(1)
        if len(ticks) == 2:
            stop.set()
        raise RuntimeError(SECRET_TEXT)

    loop = SchedulerLoop(interval=0.01, jobs=[], stop=stop, holder="loop")
    monkeypatch.setattr(loop, "tick", broken_tick)
    with caplog.at_level(logging.ERROR, logger="mnvault.scheduler"):
        loop.run()
    assert len(ticks) == 2
    assert caplog.messages == ["scheduler tick failed: RuntimeError"] * 2


def test_the_lease_outlives_several_ticks():
    assert SchedulerLoop(interval=60).ttl == lease.LEASE_TTL
    assert SchedulerLoop(interval=600).ttl == timedelta(seconds=1800)
