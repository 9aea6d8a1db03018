"""What the scheduler's backups and drills leave behind: one row per run, so the dashboard can
say when the last good backup was made and how the last restore drill went."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunKind(models.TextChoices):
    BACKUP = "backup", _("Backup")
    # The scheduler's monthly check of the archives (no private key: see backup.drill).
    ARCHIVE_CHECK = "archive_check", _("Archive check")
    # `mnvault backup verify`: a restore with the offline private key, the full drill.
    VERIFY = "verify", _("Restore drill")


class RunOutcome(models.TextChoices):
    OK = "ok", _("succeeded")
    FAILED = "failed", _("failed")


class BackupRun(models.Model):
    """One backup, archive check or restore drill. ``files`` maps each archive's name to its
    size and SHA-256 as written (what the archive check compares against later); ``error``
    is an exception's class name only, never its message, as for the scheduler's jobs."""

    kind = models.CharField(max_length=16, choices=RunKind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=RunOutcome.choices)
    error = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=dict)  # name -> {"size": int, "sha256": str}
    detail = models.JSONField(default=dict)  # counts and problem codes, never a number

    class Meta:
        indexes = [models.Index(fields=["kind", "started_at"], name="backup_run_kind_started")]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}: {self.outcome}"
