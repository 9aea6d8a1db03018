"""The scheduler's side of backups (issue 13, items 2 and 4): the daily backup once its time
of day has passed, the deletion of backups past their retention, and the monthly check of
the archives. Outcomes are kept as ``BackupRun`` rows for the dashboard; a failure is logged
and mailed by exception class only, since a message may quote a path or personal data."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mnvault.accounts.models import Membership
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.backup import services
from mnvault.backup.models import BackupRun, RunKind, RunOutcome
from mnvault.domain.roles import Role

log = logging.getLogger("mnvault.backup")
SCHEDULER = Actor.system("scheduler")
AGE_HEADER = b"age-encryption.org/v1\n"
_NAME = re.compile(r"^mnvault-(?P<kind>data|keys|checkpoints)-(?P<stamp>\d{8}T\d{6}Z)\.")


def backup_time() -> time:
    """``MNVAULT_BACKUP_AT`` as a local time of day (HH:MM)."""
    return time.fromisoformat(settings.MNVAULT_BACKUP_AT)


def is_due(now: datetime) -> bool:
    """The day's backup is due once its time has passed and no backup was tried since (one
    made by hand earlier in the day does not stand in for it)."""
    local = timezone.localtime(now)
    at = backup_time()
    if local.time() < at:
        return False
    due_at = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return not BackupRun.objects.filter(kind=RunKind.BACKUP, started_at__gte=due_at).exists()


def daily_backup(*, now: datetime) -> BackupRun | None:
    """The scheduler's job: the day's backup when due, then the deletion of old ones. One try
    a day: a failure is mailed to the responsible managers rather than retried every tick.
    An installation without a backup key has not set backups up (the dashboard says none was
    made; a firm on PostgreSQL may back up with its own tools instead): skipped."""
    if not is_due(now) or not services.recipient_configured():
        return None
    directory = Path(settings.MNVAULT_BACKUP_DIR)
    try:
        written = services.backup(to=directory, actor=SCHEDULER)
    except Exception as error:
        return _backup_failed(now, error)
    run = record_backup(written, started=now, directory=directory)
    prune(now=now, directory=directory)
    return run


def record_backup(written: services.Written, *, started: datetime, directory: Path) -> BackupRun:
    """A good backup, by the scheduler or by hand: with each file's size and SHA-256, which
    the monthly check compares against."""
    return BackupRun.objects.create(
        kind=RunKind.BACKUP,
        started_at=started,
        finished_at=timezone.now(),
        outcome=RunOutcome.OK,
        files={p.name: fingerprint(p) for p in (written.data, written.keys, written.checkpoints)},
        detail={"head": written.head, "directory": str(directory)},
    )


def _backup_failed(now: datetime, error: Exception) -> BackupRun:
    kind = type(error).__name__
    log.error("scheduled backup failed: %s", kind)
    run = BackupRun.objects.create(
        kind=RunKind.BACKUP,
        started_at=now,
        finished_at=timezone.now(),
        outcome=RunOutcome.FAILED,
        error=kind[:200],
    )
    sent = tell_managers("backup/mail/failed.txt", {"error": kind, "at": now})
    with transaction.atomic():
        audit.record(
            actor=SCHEDULER,
            action=Action.BACKUP_CREATE,
            outcome=Outcome.FAILED,
            reason="backup_failed",
            detail={"error": kind, "managers_told": sent},
        )
    return run


def fingerprint(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


# --- retention -------------------------------------------------------------------------------


def taken_at(name: str) -> tuple[str, datetime] | None:
    """The kind and time of a backup file from its name, or None for another file."""
    found = _NAME.match(name)
    if not found:
        return None
    stamp = datetime.strptime(found["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return found["kind"], stamp


def data_backups_to_keep(times: list[datetime]) -> set[datetime]:
    """Grandfather-father-son: the newest backup of each of the last N days, weeks (ISO) and
    months that have one, by local date; the newest backup is always among them."""
    newest_first = sorted(times, reverse=True)
    periods: list[tuple[Callable[[datetime], Hashable], int]] = [
        (lambda t: t.date(), settings.MNVAULT_BACKUP_KEEP_DAILY),
        (lambda t: t.isocalendar()[:2], settings.MNVAULT_BACKUP_KEEP_WEEKLY),
        (lambda t: (t.year, t.month), settings.MNVAULT_BACKUP_KEEP_MONTHLY),
    ]
    keep: set[datetime] = set()
    for period_of, count in periods:
        seen: set[Hashable] = set()
        for taken in newest_first:
            period = period_of(timezone.localtime(taken))
            if period in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(period)
            keep.add(taken)
    return keep


def prune(*, now: datetime, directory: Path) -> list[str]:
    """Delete data backups (with their checkpoint copies) outside the retention and key-store
    backups older than their window; each deletion audited. The names deleted."""
    if not directory.is_dir():
        return []
    found = [(path, taken_at(path.name)) for path in sorted(directory.iterdir())]
    named = [(path, kind, at) for path, parsed in found if parsed for kind, at in [parsed]]
    keep = data_backups_to_keep([at for _, kind, at in named if kind == "data"])
    window = now - timedelta(days=settings.MNVAULT_KEYSTORE_BACKUP_DAYS)
    deleted = []
    for path, kind, at in named:
        expired = at < window if kind == "keys" else at not in keep
        if expired:
            _delete(path, kind, at)
            deleted.append(path.name)
    return deleted


def _delete(path: Path, kind: str, at: datetime) -> None:
    path.unlink(missing_ok=True)
    with transaction.atomic():
        audit.record(
            actor=SCHEDULER,
            action=Action.BACKUP_PRUNE,
            detail={"file": path.name, "kind": kind, "taken_at": at.isoformat()},
        )


# --- the monthly check -----------------------------------------------------------------------


def check_archive(path: Path, recorded: dict[str, Any]) -> str:
    """A problem code for one archive as recorded at backup time, or "" when it is whole."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size != recorded.get("size"):
        return "size"
    if path.name.endswith(".age"):
        with path.open("rb") as source:
            if source.read(len(AGE_HEADER)) != AGE_HEADER:
                return "not_age"
    if fingerprint(path)["sha256"] != recorded.get("sha256"):
        return "checksum"
    return ""


def check_archives(*, now: datetime) -> BackupRun | None:
    """The scheduled drill. A real restore needs the backup private key, which the server never
    holds, so this checks what it can: the newest backup's files are there, and every archive
    still on disk has the age header, size and SHA-256 recorded when it was written. It then
    mails the responsible managers a reminder to run ``mnvault backup verify`` with the
    offline key, the full drill (restore, audit verification, sample of numbers). Nothing to
    check where the scheduler makes no backups (backups not set up)."""
    if not services.recipient_configured():
        return None
    directory = Path(settings.MNVAULT_BACKUP_DIR)
    runs = list(BackupRun.objects.filter(kind=RunKind.BACKUP, outcome=RunOutcome.OK))
    runs.sort(key=lambda r: r.started_at, reverse=True)
    problems: dict[str, str] = {}
    checked = 0
    for index, run in enumerate(runs):
        for name, recorded in run.files.items():
            path = Path(run.detail.get("directory") or directory) / name
            if index > 0 and not path.exists():
                continue  # deleted by the retention
            checked += 1
            problem = check_archive(path, recorded)
            if problem:
                problems[name] = problem
    if not runs:
        problems["-"] = "no_backup"
    ok = not problems
    newest = runs[0].files if runs else {}
    sent = tell_managers(
        "backup/mail/drill.txt",
        {
            "ok": ok,
            "checked": checked,
            "problems": sorted(problems.items()),
            "data": next((n for n in newest if n.startswith("mnvault-data-")), ""),
            "keys": next((n for n in newest if n.startswith("mnvault-keys-")), ""),
            "directory": directory,
        },
    )
    detail = {"scheduled": True, "checked": checked, "problems": problems, "managers_told": sent}
    with transaction.atomic():
        audit.record(
            actor=SCHEDULER,
            action=Action.BACKUP_VERIFY,
            outcome=Outcome.OK if ok else Outcome.FAILED,
            reason="" if ok else "archive_problem",
            detail=detail,
        )
        return BackupRun.objects.create(
            kind=RunKind.ARCHIVE_CHECK,
            started_at=now,
            finished_at=timezone.now(),
            outcome=RunOutcome.OK if ok else RunOutcome.FAILED,
            detail=detail,
        )


# --- mail ------------------------------------------------------------------------------------


def manager_addresses() -> list[str]:
    """Every responsible manager's address: the backups belong to the whole installation."""
    emails = Membership.objects.filter(
        revoked_at__isnull=True, user__is_active=True, role=Role.RESPONSIBLE_MANAGER
    ).values_list("user__email", flat=True)
    return sorted({e.strip() for e in emails if e and e.strip()})


def tell_managers(template: str, context: dict[str, Any]) -> int:
    """Mail the responsible managers (in blind copy); how many were told (0 when sending
    failed: logged by exception class)."""
    addresses = manager_addresses()
    if not addresses:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(template, {**context, "site": settings.MNVAULT_PUBLIC_URL})
    subject, _, body = text.strip().partition("\n")
    try:
        EmailMessage(subject=subject.strip(), body=body.strip() + "\n", bcc=addresses).send()
    except (SMTPException, OSError) as error:
        log.error("backup mail not sent: %s", type(error).__name__)
        return 0
    return len(addresses)


def dashboard_status(now: datetime) -> dict[str, Any]:
    """What the dashboard shows: the last good backup (a warning after ``STALE_AFTER``
    without one, or when none was ever made), and the last drill of either kind."""
    last_ok = (
        BackupRun.objects.filter(kind=RunKind.BACKUP, outcome=RunOutcome.OK)
        .order_by("-started_at")
        .first()
    )
    drill = (
        BackupRun.objects.filter(kind__in=[RunKind.ARCHIVE_CHECK, RunKind.VERIFY])
        .order_by("-started_at")
        .first()
    )
    return {
        "last_ok": last_ok.started_at if last_ok else None,
        "stale": last_ok is None or now - last_ok.started_at > STALE_AFTER,
        "drill": drill,
    }


STALE_AFTER = timedelta(days=2)
