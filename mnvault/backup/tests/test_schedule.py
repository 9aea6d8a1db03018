"""The scheduler's side of backups, called directly with a ``now``: retention by day, week and
month (and the key store's own short window), each deletion audited; a failed backup mailed
to the responsible managers through a real SMTP server; the monthly archive check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyrage
import pytest
from django.utils import timezone

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry
from mnvault.backup import schedule
from mnvault.backup.models import BackupRun, RunKind, RunOutcome
from mnvault.conftest import ALL_DATABASES
from mnvault.oversight.tests.test_witness_mail import addressed, body_of, smtp
from mnvault.scheduler.jobs import JOBS

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
__all__ = ["addressed", "smtp"]

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


def stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def lay_out(directory: Path, times: list[datetime]) -> None:
    """Backup files as the backup command names them, one set per time (contents irrelevant)."""
    directory.mkdir(exist_ok=True)
    for at in times:
        for name in (
            f"mnvault-data-{stamp(at)}.tar.gz.age",
            f"mnvault-keys-{stamp(at)}.tar.gz.age",
            f"mnvault-checkpoints-{stamp(at)}.jsonl",
        ):
            (directory / name).write_bytes(b"age-encryption.org/v1\n...")


def kept(directory: Path, kind: str) -> list[datetime]:
    found = [schedule.taken_at(p.name) for p in directory.iterdir()]
    return sorted(at for parsed in found if parsed for k, at in [parsed] if k == kind)


def test_the_jobs_are_registered():
    targets = {job.name: job.target for job in JOBS}
    assert targets["backup.daily"] == "mnvault.backup.schedule.daily_backup"
    assert targets["backup.check"] == "mnvault.backup.schedule.check_archives"


def test_retention_keeps_7_daily_4_weekly_12_monthly_and_the_key_store_for_its_window(tmp_path):
    # One backup a day at 02:00 Tokyo (17:00 UTC the day before) for 400 days, two on the
    # newest day.
    times = [NOW - timedelta(hours=10) - timedelta(days=d) for d in range(400)]
    times.append(NOW - timedelta(hours=1))
    lay_out(tmp_path, times)
    deleted = schedule.prune(now=NOW, directory=tmp_path)
    data = kept(tmp_path, "data")
    newest_first = sorted(data, reverse=True)
    assert newest_first[0] == NOW - timedelta(hours=1)  # the newest of its day
    local_days = {timezone.localtime(t).date() for t in newest_first[:7]}
    assert len(local_days) == 7 and len(newest_first[:7]) == 7
    # 7 days + the weeks and months beyond them: at most 7 + 4 + 12, at least 12 months back.
    assert 12 <= len(data) <= 7 + 4 + 12
    assert min(data) < NOW - timedelta(days=330)
    assert kept(tmp_path, "checkpoints") == data  # each checkpoint copy goes with its data
    keys = kept(tmp_path, "keys")
    assert keys and min(keys) >= NOW - timedelta(days=7)
    assert len(keys) == 8  # 7 days of one backup, and the second of the newest day
    pruned = AuditEntry.objects.filter(action=Action.BACKUP_PRUNE)
    assert pruned.count() == len(deleted) == 3 * 401 - len(data) * 2 - len(keys)
    assert {e.detail["file"] for e in pruned} == set(deleted)
    assert not any((tmp_path / name).exists() for name in deleted)


def test_retention_is_configurable(tmp_path, settings):
    settings.MNVAULT_BACKUP_KEEP_DAILY = 2
    settings.MNVAULT_BACKUP_KEEP_WEEKLY = 0
    settings.MNVAULT_BACKUP_KEEP_MONTHLY = 0
    settings.MNVAULT_KEYSTORE_BACKUP_DAYS = 1
    lay_out(tmp_path, [NOW - timedelta(days=d) for d in range(5)])
    schedule.prune(now=NOW, directory=tmp_path)
    assert kept(tmp_path, "data") == [NOW - timedelta(days=1), NOW]
    assert kept(tmp_path, "keys") == [NOW - timedelta(days=1), NOW]


def test_the_backup_waits_for_its_time_of_day(settings):
    settings.MNVAULT_BACKUP_AT = "02:00"
    before = datetime(2026, 11, 28, 16, 59, tzinfo=UTC)  # 01:59 in Tokyo
    assert not schedule.is_due(before)
    # A backup made by hand before the time does not stand in for the day's.
    BackupRun.objects.create(kind=RunKind.BACKUP, started_at=before, outcome=RunOutcome.OK)
    assert schedule.is_due(before + timedelta(minutes=2))
    BackupRun.objects.create(
        kind=RunKind.BACKUP, started_at=before + timedelta(minutes=2), outcome=RunOutcome.FAILED
    )
    assert not schedule.is_due(before + timedelta(hours=20))  # tried today: once a day
    assert schedule.is_due(before + timedelta(days=1, minutes=2))


def test_a_failed_backup_is_recorded_and_mailed_to_the_responsible_managers(
    smtp, addressed, settings, tmp_path
):
    settings.MNVAULT_BACKUP_RECIPIENT = ""
    settings.MNVAULT_BACKUP_RECIPIENT_FILE = tmp_path / "none.txt"
    assert schedule.daily_backup(now=NOW) is None  # backups not set up: nothing to do
    settings.MNVAULT_BACKUP_RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())
    settings.MNVAULT_BACKUP_DIR = tmp_path / "a-file"  # the NAS not mounted, say
    settings.MNVAULT_BACKUP_DIR.write_text("not a directory")
    run = schedule.daily_backup(now=NOW)
    assert run is not None and run.outcome == RunOutcome.FAILED
    assert run.error == "FileExistsError"
    assert smtp.to() == ["manager@example.jp"]
    message = smtp.messages[0][1]
    assert message["Subject"].strip() == "[mnvault] 定時バックアップに失敗しました"
    assert "FileExistsError" in body_of(message) and str(tmp_path) not in body_of(message)
    entry = AuditEntry.objects.get(action=Action.BACKUP_CREATE)
    assert (entry.outcome, entry.reason) == ("failed", "backup_failed")
    assert schedule.daily_backup(now=NOW + timedelta(minutes=10)) is None  # not every tick
    assert len(smtp.messages) == 1


@pytest.fixture
def set_up(settings, tmp_path):
    """Backups set up (a public key), into ``tmp_path``."""
    settings.MNVAULT_BACKUP_DIR = tmp_path
    settings.MNVAULT_BACKUP_RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())


def archive(directory: Path, name: str, body: bytes) -> dict:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_bytes(schedule.AGE_HEADER + body)
    return {name: schedule.fingerprint(path)}


def test_the_monthly_check_finds_whole_archives_and_reminds_of_the_drill(
    smtp, addressed, set_up, tmp_path
):
    files = archive(tmp_path, f"mnvault-data-{stamp(NOW)}.tar.gz.age", b"data")
    files |= archive(tmp_path, f"mnvault-keys-{stamp(NOW)}.tar.gz.age", b"keys")
    BackupRun.objects.create(
        kind=RunKind.BACKUP, started_at=NOW, outcome=RunOutcome.OK, files=files
    )
    run = schedule.check_archives(now=NOW)
    assert run is not None
    assert run.outcome == RunOutcome.OK and run.detail["checked"] == 2
    body = body_of(smtp.messages[0][1])
    assert f"mnvault backup verify {tmp_path}/mnvault-data-{stamp(NOW)}.tar.gz.age" in body
    entry = AuditEntry.objects.get(action=Action.BACKUP_VERIFY)
    assert entry.outcome == "ok" and entry.detail["scheduled"] is True


def test_the_monthly_check_catches_an_altered_or_missing_archive(smtp, addressed, set_up, tmp_path):
    older = NOW - timedelta(days=1)
    pruned = archive(tmp_path, f"mnvault-data-{stamp(older - timedelta(days=9))}.tar.gz.age", b"")
    (tmp_path / next(iter(pruned))).unlink()  # deleted by the retention: not a problem
    altered = archive(tmp_path, f"mnvault-data-{stamp(older)}.tar.gz.age", b"data")
    newest = archive(tmp_path, f"mnvault-data-{stamp(NOW)}.tar.gz.age", b"data")
    for at, files in ((older - timedelta(days=9), pruned), (older, altered), (NOW, newest)):
        BackupRun.objects.create(
            kind=RunKind.BACKUP, started_at=at, outcome=RunOutcome.OK, files=files
        )
    path = tmp_path / next(iter(altered))
    path.write_bytes(path.read_bytes()[:-4] + b"DATA")  # same size, other bytes
    (tmp_path / next(iter(newest))).unlink()
    run = schedule.check_archives(now=NOW)
    assert run is not None
    assert run.outcome == RunOutcome.FAILED
    assert run.detail["problems"] == {
        next(iter(altered)): "checksum",
        next(iter(newest)): "missing",
    }
    assert AuditEntry.objects.get(action=Action.BACKUP_VERIFY).reason == "archive_problem"
    assert next(iter(newest)) in body_of(smtp.messages[0][1])


def test_nothing_is_checked_or_mailed_before_backups_are_set_up(smtp, addressed, settings):
    settings.MNVAULT_BACKUP_RECIPIENT = ""
    settings.MNVAULT_BACKUP_RECIPIENT_FILE = Path("/nonexistent/backup-recipient.txt")
    assert schedule.check_archives(now=NOW) is None
    assert smtp.messages == [] and not BackupRun.objects.exists()
