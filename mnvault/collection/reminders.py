"""The scheduled work of collection (run by ``mnvault.scheduler``): reminders every N days
until an invitation expires, and the clean-up that keeps nothing longer than needed —
abandoned drafts of closed invitations, and document photos whose time is over."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db.models import Model, Q

from mnvault.audit.actors import Actor
from mnvault.collection import drafts, invitations, photos
from mnvault.collection.models import (
    CollectionSettings,
    Invitation,
    Submission,
    SubmissionStatus,
)
from mnvault.vault import api

SCHEDULER = Actor.system("scheduler")
SWEEP_WINDOW = timedelta(days=2)
T = TypeVar("T", bound=Model)
log = logging.getLogger("mnvault.collection")
DEFAULT_EVERY_DAYS = CollectionSettings._meta.get_field("reminder_every_days").default


def send_due_reminders(*, now: datetime) -> dict[str, int]:
    """Everything due at ``now``; counts of what was done (for the scheduler's log). Each
    step, and each item in it, fails on its own: a mail server that is down must not keep
    abandoned drafts or expired photos a moment longer."""
    return {
        "reminders": _remind(now),
        "drafts_discarded": _discard_drafts(now),
        "documents_destroyed": _destroy_expired_documents(now),
        "keys_swept": _sweep_document_keys(now),
    }


def _each(items: Iterable[T], action: Callable[[T], object]) -> int:
    done = 0
    for item in items:
        try:
            done += bool(action(item))
        except Exception as error:  # logged by class only: a message may quote personal data
            log.error("collection job: %s on item %s", type(error).__name__, item.pk)
    return done


def _discard(draft: Submission) -> bool:
    drafts.discard_draft(actor=SCHEDULER, submission=draft)
    return True


def _remind(now: datetime) -> int:
    every = dict(CollectionSettings.objects.values_list("company_id", "reminder_every_days"))
    open_ones = Invitation.objects.filter(
        delivery=Invitation.Delivery.EMAIL,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).order_by("pk")

    def due(invitation: Invitation) -> bool:
        days = every.get(invitation.company_id, DEFAULT_EVERY_DAYS)
        last = invitation.last_sent_at or invitation.created_at
        return bool(days) and last + timedelta(days=days) <= now

    return _each(
        (i for i in open_ones if due(i)),
        lambda invitation: invitations.remind(invitation, actor=SCHEDULER, now=now),
    )


def _discard_drafts(now: datetime) -> int:
    closed = Q(invitation__revoked_at__isnull=False) | Q(invitation__expires_at__lte=now)
    abandoned = Submission.objects.filter(closed, status=SubmissionStatus.DRAFT).exclude(
        number_ciphertext__isnull=True, documents_destroyed_at__isnull=False
    )
    return _each(
        abandoned.order_by("pk"),
        _discard,
    )


def _destroy_expired_documents(now: datetime) -> int:
    due = Submission.objects.filter(
        status=SubmissionStatus.APPROVED,
        documents_expire_at__lte=now,
        documents_destroyed_at__isnull=True,
    )
    return _each(
        due.order_by("pk"),
        lambda submission: (
            photos.destroy_documents(
                actor=SCHEDULER, submission=submission, reason="retention_ended"
            )
            >= 0
        ),
    )


def _sweep_document_keys(now: datetime) -> int:
    """Document keys whose photos were destroyed lately but which outlived them (a crash
    between the two commits): destroyed now."""
    refs = Submission.objects.filter(documents_destroyed_at__gte=now - SWEEP_WINDOW).values_list(
        "document_key_ref", flat=True
    )
    return sum(api.destroy_key(ref) for ref in refs.iterator())
