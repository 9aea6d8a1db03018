"""``mnvault scheduler`` and the scheduler thread of ``mnvault serve``, run in-process."""

from __future__ import annotations

import io

import pytest
import waitress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from mnvault.cli import setup
from mnvault.cli.management.commands import serve
from mnvault.scheduler import jobs, lease
from mnvault.scheduler.models import JobState
from mnvault.scheduler.tests.conftest import FAIL, RECORD


def scheduler(*args: str) -> str:
    out = io.StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def registered(monkeypatch) -> None:
    monkeypatch.setattr(jobs, "JOBS", (RECORD, FAIL))


@pytest.mark.django_db
def test_scheduler_once_prints_the_jobs_that_ran_and_releases_the_lease(registered, calls):
    out = scheduler("--once")
    assert "test.record を実行しました (ok)。" in out
    assert "test.fail を実行しました (failed)。" in out
    assert [name for name, _ in calls] == ["record", "fail"]
    assert lease.current_holder() is None


@pytest.mark.django_db
def test_scheduler_once_again_finds_nothing_due(registered):
    scheduler("--once")
    assert "実行するジョブはありません。" in scheduler("--once")
    with translation.override("en"):
        assert "No job was due." in scheduler("--once")
    assert JobState.objects.get(name=RECORD.name).runs == 1


@pytest.mark.django_db
def test_scheduler_once_names_the_scheduler_that_holds_the_lease(registered, calls):
    assert lease.acquire("elsewhere:1:ab")
    out = scheduler("--once")
    assert "別のスケジューラが実行中です: elsewhere:1:ab" in out
    assert calls == []
    assert lease.current_holder() == "elsewhere:1:ab"


def test_scheduler_refuses_an_interval_of_zero():
    with pytest.raises(CommandError, match="--interval は0より大きく"):
        scheduler("--interval", "0")


class FakeLoop:
    """Stands for the scheduler loop in ``serve``: records what was done to it."""

    made: list[FakeLoop] = []

    def __init__(self, **options) -> None:
        self.options = options
        self.started = self.shut_down = False
        FakeLoop.made.append(self)

    def start(self) -> None:
        self.started = True

    def shutdown(self) -> None:
        self.shut_down = True


class FakeWorker(FakeLoop):
    """Stands for the task worker in ``serve``."""


@pytest.fixture
def serve_without_a_server(monkeypatch) -> list[FakeLoop]:
    """``serve`` with everything but its threads stubbed: returns at once."""
    FakeLoop.made = []
    monkeypatch.setattr(serve, "SchedulerLoop", FakeLoop)
    monkeypatch.setattr(serve, "TaskWorker", FakeWorker)
    monkeypatch.setattr(setup, "is_initialised", lambda: True)
    monkeypatch.setattr(setup, "migrate", lambda verbosity=0: None)
    monkeypatch.setattr(serve.Command, "_announce", lambda self, host, port: None)
    monkeypatch.setattr(waitress, "serve", lambda application, **options: None)
    return FakeLoop.made


def test_serve_starts_the_scheduler_thread_by_default(serve_without_a_server):
    call_command("serve", "--port", "1")
    loop, worker = serve_without_a_server
    assert isinstance(loop, FakeLoop) and isinstance(worker, FakeWorker)
    assert loop.started and loop.shut_down
    assert loop.options["stop"].is_set()


def test_serve_with_no_scheduler_starts_no_scheduler_thread(serve_without_a_server):
    call_command("serve", "--port", "1", "--no-scheduler")
    [loop] = [made for made in serve_without_a_server if type(made) is FakeLoop]
    assert not loop.started


@pytest.mark.parametrize("flags", [[], ["--no-scheduler"]], ids=["default", "no scheduler"])
def test_serve_always_starts_the_task_worker_and_stops_it_with_the_server(
    serve_without_a_server, flags
):
    """Every server runs tasks: the queue is shared by claims, not held under the lease."""
    call_command("serve", "--port", "1", *flags)
    [worker] = [made for made in serve_without_a_server if isinstance(made, FakeWorker)]
    assert worker.started and worker.shut_down
    assert worker.options["stop"].is_set()
