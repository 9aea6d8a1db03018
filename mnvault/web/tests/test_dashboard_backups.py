"""The dashboard's backup card: those who audit see the last successful backup, a warning
after 2 days without one, and the last drill; no one else sees it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mnvault.backup.models import BackupRun, RunKind, RunOutcome
from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_dashboard_checkpoints import AUDITORS, OTHERS, dashboard

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
WARNING = "2日以上、バックアップが成功していません。"
NEVER = "バックアップはまだ一度も作成されていません。"


def ran(kind: str, ago: timedelta, outcome: str = RunOutcome.OK) -> BackupRun:
    return BackupRun.objects.create(kind=kind, started_at=timezone.now() - ago, outcome=outcome)


@pytest.mark.parametrize("persona", AUDITORS + OTHERS)
def test_a_recent_backup_is_shown_to_those_who_audit_without_a_warning(
    signed_in, personas, persona
):
    last = ran(RunKind.BACKUP, timedelta(hours=20))
    ran(RunKind.BACKUP, timedelta(hours=2), RunOutcome.FAILED)
    page = dashboard(signed_in, personas, persona)
    shown = timezone.localtime(last.started_at).strftime("%Y-%m-%d %H:%M")
    assert (f"最後に成功したバックアップ: {shown}。" in page) is (persona in AUDITORS)
    assert "backup-warning" not in page


@pytest.mark.parametrize("persona", AUDITORS + OTHERS)
def test_two_days_without_a_successful_backup_warn_those_who_audit(signed_in, personas, persona):
    ran(RunKind.BACKUP, timedelta(days=2, hours=1))
    ran(RunKind.BACKUP, timedelta(hours=2), RunOutcome.FAILED)
    page = dashboard(signed_in, personas, persona)
    assert (WARNING in page) is (persona in AUDITORS)


def test_no_backup_ever_is_a_warning_too(signed_in, personas):
    page = dashboard(signed_in, personas, "responsible_manager")
    assert NEVER in page and WARNING not in page


def test_the_last_drill_is_shown(signed_in, personas):
    ran(RunKind.BACKUP, timedelta(hours=1))
    page = dashboard(signed_in, personas, "auditor")
    assert "復元訓練はまだ実施されていません" in page
    drill = ran(RunKind.ARCHIVE_CHECK, timedelta(days=3), RunOutcome.FAILED)
    ran(RunKind.VERIFY, timedelta(days=1))
    page = dashboard(signed_in, personas, "auditor")
    day = timezone.localtime(drill.started_at + timedelta(days=2)).strftime("%Y-%m-%d")
    assert f"復元訓練: 最終実施 {day}、成功。" in page
