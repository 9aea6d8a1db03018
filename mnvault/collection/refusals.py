"""A person's refusal to provide their number (番号の提供を拒否).

Providing the number is the person's duty, but the employer cannot force it: what it must be
able to show is that it asked. So the refusal is recorded with its reason, and the requests
are the invitations and reminders already on file (each one's date). The record is withdrawn,
never deleted, when the person changes their mind or provides the number.

Who may record or withdraw one: the inviters (capability INVITE). They are the ones who make
the requests, and the record holds no number, so it needs no number capability; every role
that handles numbers holds INVITE as well, so handlers may record it too.

The statutory documents (issue 11) are to list a recorded refusal where the number is blank:
``open_refusal`` and ``requests_of`` are what they should read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.collection.invitations import INVITABLE_KINDS, check_inviter
from mnvault.collection.models import Invitation, NumberRefusal
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.people.models import Person
from mnvault.vault.models import has_active_number

MAX_REASON = 500


class RefusalProblem(ValueError):
    """The refusal cannot be recorded or withdrawn; the message says why, for the user."""


@dataclass(frozen=True)
class Request:
    """One time the person was asked: an invitation sent, or a reminder."""

    at: datetime
    kind: str  # "invitation" or "reminder"
    delivery: str


def open_refusal(person: Person) -> NumberRefusal | None:
    return NumberRefusal.objects.filter(person=person, withdrawn_at__isnull=True).first()


def requests_of(person: Person) -> list[Request]:
    """Each invitation's date and, for those reminded, the last reminder's date (a reminder
    replaces the link, so only the last one's time is kept; the audit log has each)."""
    found: list[Request] = []
    for invitation in Invitation.objects.filter(person=person).order_by("created_at", "pk"):
        found.append(Request(invitation.created_at, "invitation", invitation.delivery))
        if invitation.reminders_sent and invitation.last_sent_at:
            found.append(Request(invitation.last_sent_at, "reminder", invitation.delivery))
    return found


def clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RefusalProblem(_("Give the reason the person gave."))
    if len(reason) > MAX_REASON:
        raise RefusalProblem(_("The reason is too long."))
    if numbers.holds_number(reason):
        raise RefusalProblem(_("The reason must not contain an individual number."))
    return reason


def record(
    *, acting_user: User, person: Person, reason: str, client_address: str = ""
) -> NumberRefusal:
    """Record that the person refuses to provide their number, with the reason they gave."""
    company = Company.objects.get(pk=person.company_id)
    check_inviter(acting_user, company)
    reason = clean_reason(reason)
    if person.kind not in INVITABLE_KINDS:
        raise RefusalProblem(_("Only an employee or a payee is asked for their own number."))
    with transaction.atomic():
        Person.objects.select_for_update().get(pk=person.pk)
        if has_active_number(person):
            raise RefusalProblem(_("The person's number is stored: there is no refusal."))
        if open_refusal(person) is not None:
            raise RefusalProblem(_("A refusal is already recorded for this person."))
        refusal = NumberRefusal.objects.create(
            company=company, person=person, reason=reason, recorded_by=acting_user
        )
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.COLLECTION_REFUSAL_RECORD,
            company_id=company.pk,
            person_id=person.pk,
            client_address=client_address,
            detail={"refusal": refusal.pk, "requests": len(requests_of(person))},
        )
    return refusal


def withdraw(*, acting_user: User, person: Person, client_address: str = "") -> bool:
    """Withdraw the refusal in force (the person changed their mind or provided the number);
    False when there was none."""
    company = Company.objects.get(pk=person.company_id)
    check_inviter(acting_user, company)
    with transaction.atomic():
        refusal = (
            NumberRefusal.objects.select_for_update()
            .filter(person=person, withdrawn_at__isnull=True)
            .first()
        )
        if refusal is None:
            return False
        refusal.withdrawn_at, refusal.withdrawn_by = timezone.now(), acting_user
        refusal.save(update_fields=["withdrawn_at", "withdrawn_by"])
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.COLLECTION_REFUSAL_WITHDRAW,
            company_id=company.pk,
            person_id=person.pk,
            client_address=client_address,
            detail={"refusal": refusal.pk},
        )
    return True
