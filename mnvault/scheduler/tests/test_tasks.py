"""The task queue: queueing with checked arguments, claiming and running, progress, results,
failures by class only, and tasks whose process died."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mnvault.scheduler import tasks
from mnvault.scheduler.models import INTERRUPTED, Task, TaskStatus
from mnvault.scheduler.tests import sample_tasks
from mnvault.scheduler.tests.sample_tasks import SECRET_NUMBER, SECRET_TEXT

pytestmark = pytest.mark.django_db

SAMPLE = "mnvault.scheduler.tests.sample_tasks"


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[int, dict]]]:
    sample_tasks.CALLS.clear()
    yield sample_tasks.CALLS
    sample_tasks.CALLS.clear()


def enqueue(name: str, **kwargs: object) -> Task:
    return tasks.enqueue(f"{SAMPLE}.{name}", kwargs=kwargs, label=f"test {name}")


def run_one() -> Task:
    """Run the next task, which the test expects to be there."""
    ran = tasks.run_next(holder="me")
    assert ran is not None, "no task ran"
    return ran


def test_a_queued_task_runs_with_its_arguments_and_keeps_progress_and_result(calls):
    queued = tasks.enqueue(
        f"{SAMPLE}.count",
        kwargs={"people": [3, 1, 2], "tag": "年末調整"},
        label="Withholding slips",
        company_id=7,
        created_by_id=9,
    )
    assert (queued.status, queued.company_id, queued.created_by_id) == (TaskStatus.QUEUED, 7, 9)

    ran = run_one()

    assert ran.pk == queued.pk
    assert calls == [(queued.pk, {"people": [3, 1, 2], "tag": "年末調整"})]
    assert ran.status == TaskStatus.DONE
    assert (ran.progress_done, ran.progress_total) == (3, 3)
    assert ran.result == {"people": 3, "tag": "年末調整"}
    assert ran.error == "" and ran.claimed_by == "me"
    assert ran.started_at is not None and ran.finished_at is not None
    assert ran.finished_at >= ran.started_at


def test_run_next_takes_the_oldest_task_first_and_none_when_empty(calls):
    first, second = enqueue("count", people=[1]), enqueue("count", people=[2])
    Task.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert run_one().pk == second.pk
    assert run_one().pk == first.pk
    assert tasks.run_next(holder="me") is None


def test_run_pending_runs_every_queued_task_and_counts_them(calls):
    for i in range(3):
        enqueue("count", people=[i])
    assert tasks.run_pending() == 3
    assert tasks.run_pending() == 0
    assert set(Task.objects.values_list("status", flat=True)) == {TaskStatus.DONE}


def test_only_queued_tasks_run(calls):
    cancelled, done = enqueue("count", people=[1]), enqueue("count", people=[2])
    assert tasks.cancel(cancelled.pk)
    tasks.run_pending()
    assert not tasks.cancel(done.pk)  # too late: it ran
    assert tasks.run_pending() == 0
    assert [task_id for task_id, _ in calls] == [done.pk]
    assert Task.objects.get(pk=cancelled.pk).status == TaskStatus.CANCELLED


def test_a_failure_is_recorded_and_logged_by_class_only(caplog):
    task = enqueue("fail")
    with caplog.at_level(logging.DEBUG):
        ran = run_one()
    assert (ran.status, ran.error, ran.result) == (TaskStatus.FAILED, "ValueError", None)
    assert f"task {task.pk} ({SAMPLE}.fail) failed: ValueError" in caplog.messages
    assert all(record.exc_info is None for record in caplog.records)
    for text in (caplog.text, repr(list(Task.objects.values()))):
        assert SECRET_NUMBER not in text and "secret" not in text


def test_a_failing_task_does_not_stop_the_ones_after_it(calls):
    enqueue("fail")
    after = enqueue("count", people=[1])
    assert tasks.run_pending() == 2
    assert Task.objects.get(pk=after.pk).status == TaskStatus.DONE


@pytest.mark.parametrize(
    "kwargs",
    [
        {"note": SECRET_NUMBER},
        {"note": f"{SECRET_NUMBER[:4]} {SECRET_NUMBER[4:8]}-{SECRET_NUMBER[8:]}"},
        {"note": SECRET_NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))},
        {"ids": [1, 2, SECRET_NUMBER]},
        {"number": int(SECRET_NUMBER)},
    ],
    ids=["plain", "grouped", "full-width", "in a list", "as an int"],
)
def test_arguments_holding_a_number_are_refused_without_quoting_it(kwargs):
    with pytest.raises(tasks.InvalidTask, match="holds an individual number") as refused:
        tasks.enqueue(f"{SAMPLE}.count", kwargs=kwargs, label="x")
    assert SECRET_NUMBER not in str(refused.value)
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 0.5}, "values must be"),
        ({"nested": [[1]]}, "values must be"),
        ({"map": {"a": 1}}, "values must be"),
        ({"task_id": 1}, "identifiers other than task_id"),
        ({"not an identifier": 1}, "identifiers other than task_id"),
        ({"ids": list(range(100_000))}, "larger than"),
    ],
    ids=["float", "nested list", "dict", "task_id", "bad key", "too large"],
)
def test_arguments_that_are_not_plain_small_values_are_refused(kwargs, message):
    with pytest.raises(tasks.InvalidTask, match=message):
        tasks.enqueue(f"{SAMPLE}.count", kwargs=kwargs, label="x")


def test_ten_thousand_people_fit_in_the_arguments():
    task = tasks.enqueue(f"{SAMPLE}.count", kwargs={"people": list(range(10_000))}, label="x")
    assert len(Task.objects.get(pk=task.pk).kwargs["people"]) == 10_000


@pytest.mark.parametrize(
    ("target", "label", "message"),
    [
        (f"{SAMPLE}.no_such_task", "x", "cannot be imported"),
        (f"{SAMPLE}.not_callable", "x", "not callable"),
        (f"{SAMPLE}.count", "", "label"),
        (f"{SAMPLE}.count", f"slips of {SECRET_NUMBER}", "label"),
    ],
    ids=["missing target", "not callable", "empty label", "label with a number"],
)
def test_a_bad_target_or_label_is_refused_when_queued(target, label, message):
    with pytest.raises(tasks.InvalidTask, match=message):
        tasks.enqueue(target, kwargs={}, label=label)


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        ("small dict", {"pages": 12, "people": [1, 2]}),
        ("nothing", None),
        ("not a dict", None),
        ("float", None),
        ("too large", None),
    ],
)
def test_only_a_small_plain_dict_is_kept_as_the_result(result, kept):
    enqueue("returns", result=result)
    ran = run_one()
    assert (ran.status, ran.result) == (TaskStatus.DONE, kept)


def test_a_result_holding_a_number_is_not_kept(caplog):
    task = enqueue("returns", result="a number")
    with caplog.at_level(logging.DEBUG):
        ran = run_one()
    assert (ran.status, ran.result) == (TaskStatus.DONE, None)
    assert f"task {task.pk} ({SAMPLE}.returns): result not kept (not a small plain dict)" in (
        caplog.messages
    )
    assert SECRET_NUMBER not in caplog.text


def test_progress_held_back_by_the_throttle_is_written_when_the_task_ends():
    enqueue("hold_back")
    ran = run_one()
    assert (ran.progress_done, ran.progress_total) == (7, 10)


def test_progress_reports_reach_the_database_at_most_twice_a_second(monkeypatch):
    enqueue("many_reports", reports=1000)
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        ran = run_one()
    elapsed = time.monotonic() - started
    writes = [q for q in queries if q["sql"].startswith("UPDATE") and "progress_done" in q["sql"]]
    # One write when it starts, one per half second, the last value at once, the final record.
    assert 2 <= len(writes) <= 3 + elapsed / tasks.PROGRESS_EVERY, (len(writes), elapsed)
    assert (ran.progress_done, ran.progress_total) == (1000, 1000)


def test_the_same_final_value_reported_again_is_not_written_again():
    enqueue("repeat_final", times=50)
    with CaptureQueriesContext(connection) as queries:
        ran = run_one()
    writes = [q for q in queries if q["sql"].startswith("UPDATE") and "progress_done" in q["sql"]]
    assert len(writes) == 1
    assert (ran.progress_done, ran.progress_total) == (50, 50)


def test_a_progress_report_renews_the_claim():
    task = enqueue("count", people=[1])
    soon = timezone.now() + timedelta(seconds=5)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.RUNNING, claimed_until=soon)
    tasks.report_progress(task.pk, 5, 10)
    task.refresh_from_db()
    assert (task.progress_done, task.progress_total) == (5, 10)
    assert task.claimed_until is not None
    assert task.claimed_until > soon + timedelta(seconds=30)


def running(*, claimed_until, holder: str = "dead-host:1:00000000") -> Task:
    task = enqueue("count", people=[1])
    Task.objects.filter(pk=task.pk).update(
        status=TaskStatus.RUNNING, claimed_by=holder, claimed_until=claimed_until
    )
    return task


def test_a_running_task_whose_claim_expired_is_marked_interrupted_and_not_run_again(calls):
    dead = running(claimed_until=timezone.now() - timedelta(seconds=1))
    live = running(claimed_until=timezone.now() + timedelta(minutes=1), holder="alive:2:aa")

    assert tasks.run_next(holder="me") is None  # the pass marks it, and runs nothing

    dead.refresh_from_db()
    assert (dead.status, dead.error) == (TaskStatus.FAILED, INTERRUPTED)
    assert dead.finished_at is not None
    assert Task.objects.get(pk=live.pk).status == TaskStatus.RUNNING
    assert tasks.run_pending() == 0
    assert calls == []


def test_a_task_that_ends_after_its_claim_was_taken_away_keeps_the_interruption(
    monkeypatch, caplog
):
    """Its process stalled past the claim, another worker marked it interrupted, and a
    person may have started it again: the late end must not make it look done."""
    task = enqueue("returns", result="small dict")
    real_import = tasks.import_string

    def lose_claim_then_import(path: str):
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.FAILED, error=INTERRUPTED)
        return real_import(path)

    monkeypatch.setattr(tasks, "import_string", lose_claim_then_import)
    ran = run_one()
    assert (ran.status, ran.error) == (TaskStatus.FAILED, INTERRUPTED)
    assert f"task {task.pk} ended after its claim was lost; left as recorded" in caplog.messages


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_renewed_while_a_long_task_runs(monkeypatch):
    monkeypatch.setattr(tasks, "RENEW_EVERY", 0.05)
    enqueue("wait_for_renewal")
    ran = run_one()
    assert (ran.status, ran.result) == (TaskStatus.DONE, {"renewed": True})


@pytest.mark.django_db(transaction=True)
def test_the_worker_thread_picks_a_task_up_promptly_and_stops(calls):
    worker = tasks.TaskWorker(interval=30, holder="worker")
    thread = worker.start()
    assert thread.name == "mnvault-tasks" and thread.daemon
    try:
        task = enqueue("count", people=[1, 2])  # wakes the worker: no 30 s wait
        deadline = time.monotonic() + 10
        while Task.objects.get(pk=task.pk).status != TaskStatus.DONE:
            assert time.monotonic() < deadline, "the worker did not run the task"
            time.sleep(0.02)
    finally:
        worker.shutdown()
    assert not thread.is_alive()
    assert Task.objects.get(pk=task.pk).claimed_by == "worker"


@pytest.mark.django_db(transaction=True)
def test_a_failing_pass_is_logged_and_the_worker_goes_on(monkeypatch, caplog):
    passes: list[int] = []
    stop = threading.Event()

    def broken(*, holder: str) -> None:
        passes.append(1)
        if len(passes) == 2:
            stop.set()
        raise RuntimeError(SECRET_TEXT)

    monkeypatch.setattr(tasks, "run_next", broken)
    worker = tasks.TaskWorker(interval=0.01, stop=stop, holder="worker")
    with caplog.at_level(logging.ERROR, logger="mnvault.scheduler"):
        worker.run()
    assert len(passes) == 2
    assert caplog.messages == ["task worker pass failed: RuntimeError"] * 2


def test_a_task_claimed_by_another_process_meanwhile_is_skipped_for_the_next(monkeypatch, calls):
    """Between finding the oldest queued task and claiming it, another process took it: the
    claim's condition matches no row, and the next queued task is claimed instead."""
    taken, free = enqueue("count", people=[1]), enqueue("count", people=[2])
    found = iter([taken.pk, free.pk, None])

    def another_process_claims_first() -> int | None:
        candidate = next(found)
        Task.objects.filter(pk=taken.pk).update(status=TaskStatus.RUNNING, claimed_by="other")
        return candidate

    monkeypatch.setattr(tasks, "_oldest_queued", another_process_claims_first)
    ran = run_one()
    assert ran.pk == free.pk
    assert [task_id for task_id, _ in calls] == [free.pk]
    assert Task.objects.get(pk=taken.pk).claimed_by == "other"


def test_a_pass_over_an_empty_queue_only_reads():
    """Every server looks every two seconds: on SQLite a needless UPDATE would take the one
    write lock each time."""
    running(claimed_until=timezone.now() + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        assert tasks.run_next(holder="me") is None
    assert [q["sql"].split()[0] for q in queries] == ["SELECT", "SELECT"]


def test_marking_interrupted_tasks_is_logged_with_their_count(caplog):
    for _ in range(2):
        running(claimed_until=timezone.now() - timedelta(seconds=1))
    assert tasks.mark_interrupted() == 2
    assert "2 task(s) interrupted: their claim expired while running" in caplog.messages
