"""The scheduled work of collection (run by ``mnvault.scheduler``): reminders every N days
until an invitation expires, and the clean-up that keeps nothing longer than needed —
abandoned drafts of closed invitations, and document photos whose time is over."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from mnvault.audit.log import Actor
from mnvault.collection import invitations
from mnvault.collection.models import (
    CollectionSettings,
    Invitation,
    Submission,
    SubmissionStatus,
)
from mnvault.vault import collected

SCHEDULER = Actor.system("scheduler")
DEFAULT_EVERY_DAYS = CollectionSettings._meta.get_field("reminder_every_days").default


def send_due_reminders(*, now: datetime) -> dict[str, int]:
    """Everything due at ``now``; counts of what was done (for the scheduler's log)."""
    return {
        "reminders": _remind(now),
        "drafts_discarded": _discard_drafts(now),
        "documents_destroyed": _destroy_expired_documents(now),
    }


def _remind(now: datetime) -> int:
    every = dict(CollectionSettings.objects.values_list("company_id", "reminder_every_days"))
    sent = 0
    for invitation in Invitation.objects.filter(
        delivery=Invitation.Delivery.EMAIL,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).order_by("pk"):
        days = every.get(invitation.company_id, DEFAULT_EVERY_DAYS)
        last = invitation.last_sent_at or invitation.created_at
        if days and last + timedelta(days=days) <= now:
            sent += invitations.remind(invitation, actor=SCHEDULER, now=now)
    return sent


def _discard_drafts(now: datetime) -> int:
    closed = Q(invitation__revoked_at__isnull=False) | Q(invitation__expires_at__lte=now)
    drafts = Submission.objects.filter(closed, status=SubmissionStatus.DRAFT).exclude(
        number_ciphertext__isnull=True, documents_destroyed_at__isnull=False
    )
    count = 0
    for draft in drafts.order_by("pk"):
        collected.discard_draft(actor=SCHEDULER, submission=draft)
        count += 1
    return count


def _destroy_expired_documents(now: datetime) -> int:
    due = Submission.objects.filter(
        status=SubmissionStatus.APPROVED,
        documents_expire_at__lte=now,
        documents_destroyed_at__isnull=True,
    )
    count = 0
    for submission in due.order_by("pk"):
        collected.destroy_documents(
            actor=SCHEDULER, submission=submission, reason="retention_ended"
        )
        count += 1
    return count
