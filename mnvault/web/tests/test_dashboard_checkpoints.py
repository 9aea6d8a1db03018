"""The dashboard warns those who audit (responsible managers and auditors) when the audit
log's checkpoints have stopped being signed, and no one else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import heartbeat

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
EVERY = timedelta(minutes=5)
FAILED = "監査ログのチェックポイントの署名に失敗しました。"
OVERDUE = "監査ログのチェックポイントが署名されなくなっています。"
AUDITORS = ["responsible_manager", "auditor"]
OTHERS = ["company_admin", "handler", "staff"]


def fails() -> None:
    raise OSError("disk full")


def dashboard(signed_in, personas, persona: str) -> str:
    client = signed_in(getattr(personas, persona))
    return client.get(reverse("web:dashboard", args=[personas.company.pk])).content.decode()


@pytest.mark.parametrize("persona", AUDITORS + OTHERS)
def test_no_warning_while_checkpoints_are_signed(signed_in, personas, persona):
    heartbeat.started(heartbeat.CHECKPOINTS, every=EVERY)
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None)
    page = dashboard(signed_in, personas, persona)
    assert "checkpoint-warning" not in page


@pytest.mark.parametrize("persona", AUDITORS + OTHERS)
def test_a_failed_checkpoint_is_shown_to_those_who_audit(signed_in, personas, persona):
    heartbeat.started(heartbeat.CHECKPOINTS, every=EVERY)
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None)
    heartbeat.run(heartbeat.CHECKPOINTS, fails)
    page = dashboard(signed_in, personas, persona)
    assert (FAILED in page) is (persona in AUDITORS)
    assert ("最後の署名: " in page) is (persona in AUDITORS)
    assert "disk full" not in page and "OSError" not in page


@pytest.mark.parametrize("persona", AUDITORS + OTHERS)
def test_overdue_checkpoints_are_shown_to_those_who_audit(signed_in, personas, persona):
    long_ago = timezone.now() - timedelta(hours=1)
    heartbeat.started(heartbeat.CHECKPOINTS, every=EVERY, now=long_ago)
    page = dashboard(signed_in, personas, persona)
    assert (OVERDUE in page) is (persona in AUDITORS)
    assert FAILED not in page
