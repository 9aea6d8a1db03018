"""Where each person stands in collection, computed in the database so that the people list
can show and filter it on a page of 200,000 people."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.collection.models import Invitation, NumberRefusal, Submission, SubmissionStatus
from mnvault.vault.models import NumberRecord, NumberStatus, VerificationChannel

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from mnvault.people.models import Person


class CollectionStatus(models.TextChoices):
    NOT_INVITED = "not_invited", _("Not invited")
    INVITED = "invited", _("Invited")
    SUBMITTED = "submitted", _("Submitted")
    SENT_BACK = "sent_back", _("Sent back")
    APPROVED = "approved", _("Approved")
    # A number that came in by import: stored, but no identity check was done or recorded
    # here (domain R24), so it must not read as approved.
    IMPORTED = "imported", _("Entered by import (identity not checked here)")
    EXPIRED = "expired", _("Invitation expired")
    # The person refuses to provide the number (番号の提供を拒否): recorded with the reason.
    # It reads before any invitation state, but a stored number or a submission wins.
    REFUSED = "refused", _("Refused to provide the number")


class CollectionAnnotations(TypedDict):
    has_number: bool
    collection_status: str


def with_collection_status(
    people: QuerySet[Person],
) -> QuerySet[WithAnnotations[Person, CollectionAnnotations]]:
    """Annotate ``collection_status`` (and ``has_number``) on a queryset of people."""
    latest = Invitation.objects.filter(person=OuterRef("pk")).order_by("-pk")
    last_submission = Submission.objects.filter(person=OuterRef("pk")).order_by("-pk")
    stored = NumberRecord.objects.filter(person=OuterRef("pk"), status=NumberStatus.ACTIVE)
    people = people.annotate(
        has_number=Exists(stored),
        _imported=Exists(stored.filter(channel=VerificationChannel.IMPORT)),
        _inv_expires=Subquery(latest.values("expires_at")[:1]),
        _inv_revoked=Subquery(latest.values("revoked_at")[:1]),
        _inv_used=Subquery(latest.values("used_at")[:1]),
        _inv_follows=Subquery(latest.values("follows_send_back")[:1]),
        _sub_status=Subquery(last_submission.values("status")[:1]),
        _refused=Exists(
            NumberRefusal.objects.filter(person=OuterRef("pk"), withdrawn_at__isnull=True)
        ),
    )
    now = timezone.now()
    return people.annotate(
        collection_status=Case(
            When(_imported=True, then=Value(CollectionStatus.IMPORTED)),
            When(has_number=True, then=Value(CollectionStatus.APPROVED)),
            When(_sub_status=SubmissionStatus.SUBMITTED, then=Value(CollectionStatus.SUBMITTED)),
            When(_refused=True, then=Value(CollectionStatus.REFUSED)),
            When(
                Q(_inv_expires__isnull=True) | Q(_inv_revoked__isnull=False),
                then=Value(CollectionStatus.NOT_INVITED),
            ),
            When(_inv_used__isnull=False, then=Value(CollectionStatus.SUBMITTED)),
            When(_inv_expires__lte=now, then=Value(CollectionStatus.EXPIRED)),
            When(_inv_follows=True, then=Value(CollectionStatus.SENT_BACK)),
            default=Value(CollectionStatus.INVITED),
            output_field=models.CharField(),
        )
    )


def status_counts(people: QuerySet) -> dict[str, int]:
    counted = (
        with_collection_status(people)
        .values("collection_status")
        .annotate(n=models.Count("pk"))
        .order_by()
    )
    found = {row["collection_status"]: row["n"] for row in counted}
    return {code: found.get(code, 0) for code in CollectionStatus.values}


def summary(person) -> dict:
    """What the person page shows of collection: the status, the open invitation (to
    withdraw), the submission awaiting review (to open), and a refusal to provide the number
    in force with the dates the person was asked."""
    from mnvault.people.models import Person

    found = with_collection_status(Person.objects.filter(pk=person.pk)).first()
    status = found.collection_status if found else CollectionStatus.NOT_INVITED
    now = timezone.now()
    open_invitation = (
        Invitation.objects.filter(
            person=person, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        )
        .order_by("-pk")
        .first()
    )
    pending = Submission.objects.filter(person=person, status=SubmissionStatus.SUBMITTED).first()
    from mnvault.collection import refusals

    return {
        "refusal": refusals.open_refusal(person),
        "requests": refusals.requests_of(person),
        "status": status,
        "label": dict(CollectionStatus.choices)[status],
        "invitation": open_invitation,
        "pending": pending,
    }
