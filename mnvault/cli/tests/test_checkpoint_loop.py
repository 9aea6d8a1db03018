"""The checkpoint loop of ``mnvault serve``: it signs at start and then every interval, records
each round, and carries on after a failure — which it no longer leaves only to the log."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.log import record
from mnvault.audit.models import AuditCheckpoint
from mnvault.cli.management.commands import serve
from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import heartbeat
from mnvault.scheduler.models import Heartbeat

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


class Rounds(threading.Event):
    """A stop event that lets the loop run ``rounds`` rounds, without waiting."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.left = rounds

    def wait(self, timeout: float | None = None) -> bool:
        self.left -= 1
        return self.left <= 0


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    """The loop closes old connections between rounds; the test's transaction must stay."""
    monkeypatch.setattr(serve, "close_old_connections", lambda: None)


@pytest.fixture
def entry() -> None:
    with transaction.atomic():
        record(actor=Actor.system("test"), action=Action.DEMO_CREATE)


def test_the_loop_signs_at_start_and_records_the_round(entry):
    serve._checkpoint_loop(Rounds(1), 300.0)
    assert AuditCheckpoint.objects.count() == 1
    beat = Heartbeat.objects.get(name=heartbeat.CHECKPOINTS)
    assert beat.every.total_seconds() == 300.0
    assert beat.last_success_at is not None and beat.last_failure_at is None
    assert heartbeat.health(heartbeat.CHECKPOINTS).ok


def test_a_failed_checkpoint_is_recorded_and_the_loop_carries_on(entry, monkeypatch):
    outcomes = iter([OSError("disk full"), None])

    def flaky() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(serve, "sign_and_witness", flaky)
    serve._checkpoint_loop(Rounds(1), 300.0)
    health = heartbeat.health(heartbeat.CHECKPOINTS)
    assert (health.problem, health.error) == ("failed", "OSError")

    serve._checkpoint_loop(Rounds(1), 300.0)  # the next round works again
    assert heartbeat.health(heartbeat.CHECKPOINTS).ok


def test_the_loop_runs_a_round_per_interval(entry, monkeypatch):
    rounds: list[int] = []
    monkeypatch.setattr(serve, "sign_and_witness", lambda: rounds.append(1))
    serve._checkpoint_loop(Rounds(3), 300.0)
    assert len(rounds) == 3
