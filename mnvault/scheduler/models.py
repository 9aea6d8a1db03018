"""What the scheduler keeps in the database: the one lease that decides which process may run
jobs, and each job's last run.

Both live in the default database, which every server of a multi-server set-up shares, so the
lease is seen by all of them whatever the set-up.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

LEASE_ID = 1


class SchedulerLease(models.Model):
    """A single row: who may run jobs, until when. A lease rather than a lock held by a
    connection, so it works the same on SQLite and PostgreSQL and a crashed holder's claim
    simply runs out."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=LEASE_ID, editable=False)
    # "host:pid:random", or empty when released.
    holder = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=LEASE_ID), name="scheduler_lease_single_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder or '(free)'} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class Outcome(models.TextChoices):
    OK = "ok"
    FAILED = "failed"


class JobState(models.Model):
    """The last run of one job: what decides whether it is due. No exception text is kept,
    since it may quote personal data; only the exception's class name."""

    name = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # Blank while a run is under way, or when the process died during it.
    last_outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    last_error = models.CharField(max_length=200, blank=True)  # exception class name only
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_outcome or '-'} ({self.runs} runs)"


class Heartbeat(models.Model):
    """A loop that runs in every server process rather than under the lease — the audit log's
    checkpoints, signed by each ``mnvault serve`` — and must never stop unnoticed: when it
    started, last tried, last succeeded and last failed (exception class only, as for jobs),
    and how often it means to run. ``/healthz`` and the dashboard read it
    (``scheduler.heartbeat``)."""

    name = models.CharField(max_length=100, unique=True)
    every = models.DurationField()
    started_at = models.DateTimeField()  # the last start of a loop, in any process
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)  # exception class name only

    def __str__(self) -> str:
        ok, failed = self.last_success_at or "-", self.last_failure_at or "-"
        return f"{self.name}: ok {ok}, failed {failed}"


class TaskStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


INTERRUPTED = "interrupted"  # the error of a task whose process died while it ran


class Task(models.Model):
    """One bulk background job (a document run, a disposal batch, bulk invitations), queued
    by a page and run by the worker of any ``mnvault serve`` (``scheduler.tasks``).

    The company and the user are plain ids, not foreign keys: the scheduler sits below the
    areas and imports none of their models (as ``jobs`` does), and a task's history must never
    stand in the way of deleting a company or a user when the law says so. Pages filter by
    ``company_id`` themselves. Nothing here may hold a number: the arguments and the result
    are checked on the way in, and an error is the exception's class name only.
    """

    target = models.CharField(max_length=255)  # dotted path of the function run
    kwargs = models.JSONField(default=dict)  # str/int/bool/None and lists of them
    label = models.CharField(max_length=200)  # shown on pages
    company_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    created_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)  # a small dict, e.g. counts
    error = models.CharField(max_length=200, blank=True)  # exception class name only
    claimed_by = models.CharField(max_length=255, blank=True)  # holder, as for the lease
    claimed_until = models.DateTimeField(null=True, blank=True)  # the claim's expiry
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="scheduler_task_queue")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values), name="scheduler_task_status"
            )
        ]

    def __str__(self) -> str:
        return f"task {self.pk} {self.target}: {self.status}"
