"""Sending, reminding and withdrawing invitations to register one's own number.

A token is 256 random bits shown once (in the e-mail or on the printed sheet) and stored only
as its SHA-256. A person has at most one live invitation: a new one withdraws the old.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from smtplib import SMTPException

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mnvault.accounts.models import Membership, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.collection import mail
from mnvault.collection.models import CollectionSettings, Invitation, Submission, SubmissionStatus
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.domain.roles import Capability, roles_with
from mnvault.people.models import Person, PersonKind
from mnvault.people.purposes import DEPENDENT_PURPOSES, purposes_for_kind
from mnvault.vault.models import has_active_number

log = logging.getLogger("mnvault.collection")

INVITABLE_KINDS = (PersonKind.EMPLOYEE, PersonKind.PAYEE)


class InvitationRefused(PermissionError):
    """The acting user may not send or withdraw invitations in this company."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    # A token that happened to hold a 12-digit run would be refused by the e-mail guard.
    token = secrets.token_urlsafe(32)
    while numbers.holds_number(token):
        token = secrets.token_urlsafe(32)
    return token


def settings_of(company: Company) -> CollectionSettings:
    found = CollectionSettings.objects.filter(company=company).first()
    return found or CollectionSettings(company=company)


def save_settings(
    *, acting_user: User, found: CollectionSettings, changed: list[str], client_address: str = ""
) -> None:
    """The company's collection settings, saved with the names of the fields that changed."""
    with transaction.atomic():
        found.save()
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.COLLECTION_SETTINGS_UPDATE,
            company_id=found.company_id,
            client_address=client_address,
            detail={"fields": sorted(changed)},
        )


def purposes_for(company: Company, person: Person) -> list[str]:
    """The purposes notified with an invitation (domain R11): the company's own that fit the
    person's kind (payments for a payee, the others for an employee)."""
    return purposes_for_kind(company.notified_purposes(), person.kind)


def check_inviter(user: User, company: Company) -> None:
    held = Membership.objects.filter(
        user=user, company=company, revoked_at__isnull=True, role__in=roles_with(Capability.INVITE)
    )
    if not held.exists():
        raise InvitationRefused()


@dataclass
class InviteResult:
    sent: list[Invitation] = field(default_factory=list)
    printed: list[tuple[Invitation, str]] = field(default_factory=list)
    no_email: list[Person] = field(default_factory=list)
    not_needed: list[Person] = field(default_factory=list)
    no_purpose: list[Person] = field(default_factory=list)
    no_birth_date: list[Person] = field(default_factory=list)
    failed: list[Person] = field(default_factory=list)


def needs_invitation(person: Person) -> bool:
    """Not for someone whose number is stored or whose submission awaits review."""
    if person.kind not in INVITABLE_KINDS:
        return False
    if has_active_number(person):
        return False
    return not Submission.objects.filter(person=person, status=SubmissionStatus.SUBMITTED).exists()


def invite(
    *,
    acting_user: User,
    company: Company,
    people: Iterable[Person],
    delivery: str,
    client_address: str = "",
    follows_send_back: bool = False,
) -> InviteResult:
    """One invitation for each person who needs one; by e-mail (those without an address are
    listed, not invited) or for a printed sheet (the tokens are returned, to print once)."""
    check_inviter(acting_user, company)
    result = InviteResult()
    for person in people:
        if person.company_id != company.pk:
            raise InvitationRefused()
        if not needs_invitation(person):
            result.not_needed.append(person)
        elif delivery == Invitation.Delivery.EMAIL and not person.email:
            result.no_email.append(person)
        elif person.birth_date is None:
            # The birth date is what the link alone does not give: without it, no check.
            result.no_birth_date.append(person)
        elif not purposes_for(company, person):
            result.no_purpose.append(person)
        else:
            _invite_one(
                acting_user, company, person, delivery, client_address, follows_send_back, result
            )
    return result


def invite_for_dependents(
    *,
    acting_user: User,
    person: Person,
    delivery: str,
    client_address: str = "",
    follows_send_back: bool = False,
) -> InviteResult:
    """An invitation to add dependents, for an employee whose own number is stored (a birth,
    a marriage, the year-end changes): the registration skips the number and the employee's
    own documents and goes to the dependents, which the employee attests (domain R23)."""
    company = Company.objects.get(pk=person.company_id)
    check_inviter(acting_user, company)
    result = InviteResult()
    pending = Submission.objects.filter(person=person, status=SubmissionStatus.SUBMITTED)
    if person.kind != PersonKind.EMPLOYEE or not has_active_number(person) or pending.exists():
        result.not_needed.append(person)
    elif delivery == Invitation.Delivery.EMAIL and not person.email:
        result.no_email.append(person)
    elif person.birth_date is None:
        result.no_birth_date.append(person)
    elif not set(purposes_for(company, person)) & DEPENDENT_PURPOSES:
        result.no_purpose.append(person)
    else:
        _invite_one(
            acting_user,
            company,
            person,
            delivery,
            client_address,
            follows_send_back,
            result,
            scope=Invitation.Scope.DEPENDENTS,
        )
    return result


def _invite_one(
    acting_user, company, person, delivery, client_address, follows, result, scope="full"
) -> None:
    token = new_token()
    days = settings_of(company).invitation_days
    with transaction.atomic():
        _withdraw_open(person, Actor.of(acting_user), "replaced", client_address)
        invitation = Invitation.objects.create(
            company=company,
            person=person,
            token_hash=token_hash(token),
            delivery=delivery,
            email=person.email if delivery == Invitation.Delivery.EMAIL else "",
            purposes=purposes_for(company, person),
            created_by=acting_user,
            expires_at=timezone.now() + timedelta(days=days),
            follows_send_back=follows,
            scope=scope,
        )
        detail = {"invitation": invitation.pk, "delivery": delivery}
        if scope != Invitation.Scope.FULL:
            detail["scope"] = scope
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.COLLECTION_INVITE,
            company_id=company.pk,
            person_id=person.pk,
            client_address=client_address,
            detail=detail,
        )
    if delivery == Invitation.Delivery.PRINT:
        result.printed.append((invitation, token))
    elif deliver(invitation, token, template="invitation"):
        result.sent.append(invitation)
    else:
        withdraw(invitation, actor=Actor.of(acting_user), reason="send_failed")
        result.failed.append(person)


def deliver(
    invitation: Invitation, token: str, *, template: str, now: datetime | None = None
) -> bool:
    """Send the link by e-mail; False (logged without the address) when the server refused."""
    company = Company.objects.get(pk=invitation.company_id)
    person = Person.objects.get(pk=invitation.person_id)
    context = {
        "company": company,
        "person": person,
        "link": mail.registration_link(token),
        "expires_at": invitation.expires_at,
        "reason": send_back_reason(invitation),
        "dependents_only": invitation.dependents_only,
    }
    try:
        mail.send(to=invitation.email, template=template, context=context)
    except (SMTPException, OSError, mail.MailRefused) as error:
        log.warning("invitation %s: e-mail not sent (%s)", invitation.pk, type(error).__name__)
        return False
    Invitation.objects.filter(pk=invitation.pk).update(last_sent_at=now or timezone.now())
    return True


def send_back_reason(invitation: Invitation) -> str:
    """Why the person's previous submission was sent back, for an invitation that follows
    one (its e-mail, and the registration pages once the person is verified); else ""."""
    if not invitation.follows_send_back:
        return ""
    last = (
        Submission.objects.filter(person_id=invitation.person_id, status=SubmissionStatus.SENT_BACK)
        .order_by("-pk")
        .values_list("send_back_reason", flat=True)
        .first()
    )
    return last or ""


def _withdraw_open(person: Person, actor: Actor, reason: str, client_address: str = "") -> None:
    for invitation in Invitation.objects.filter(
        person=person, used_at__isnull=True, revoked_at__isnull=True
    ):
        _withdraw(invitation, actor, reason, client_address)


def _withdraw(invitation: Invitation, actor: Actor, reason: str, client_address: str) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    audit.record(
        actor=actor,
        action=Action.COLLECTION_WITHDRAW,
        company_id=invitation.company_id,
        person_id=invitation.person_id,
        reason=reason,
        client_address=client_address,
        detail={"invitation": invitation.pk},
    )


def withdraw(
    invitation: Invitation, *, actor: Actor, reason: str, client_address: str = ""
) -> None:
    with transaction.atomic():
        _withdraw(invitation, actor, reason, client_address)


def revoke(*, acting_user: User, invitation: Invitation, client_address: str = "") -> bool:
    """A staff member withdraws an invitation that is still open; False if it was not."""
    company = Company.objects.get(pk=invitation.company_id)
    check_inviter(acting_user, company)
    with transaction.atomic():
        fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if fresh.used_at or fresh.revoked_at:
            return False
        _withdraw(fresh, Actor.of(acting_user), "revoked", client_address)
    return True


def remind(invitation: Invitation, *, actor: Actor, now: datetime) -> bool:
    """A reminder carries a fresh link (the old token is not kept, so it cannot be sent
    again). The new link replaces the old only once the e-mail is out: a mail server that
    is down must not leave the person with no working link."""
    token = new_token()
    fresh = Invitation.objects.get(pk=invitation.pk)
    if fresh.used_at or fresh.revoked_at or fresh.expires_at <= now or not fresh.email:
        return False
    sent = deliver(fresh, token, template="reminder", now=now)
    with transaction.atomic():
        switched = sent and Invitation.objects.filter(
            pk=fresh.pk, used_at__isnull=True, revoked_at__isnull=True
        ).update(token_hash=token_hash(token), reminders_sent=F("reminders_sent") + 1)
        audit.record(
            actor=actor,
            action=Action.COLLECTION_REMIND,
            outcome=Outcome.OK if switched else Outcome.FAILED,
            reason="" if switched else "send_failed" if not sent else "closed",
            company_id=fresh.company_id,
            person_id=fresh.person_id,
            detail={"invitation": fresh.pk},
        )
    return bool(switched)


def open_by_email(company: Company, now: datetime) -> Iterable[Invitation]:
    """Live e-mail invitations not yet used: those a reminder can go to."""
    return Invitation.objects.filter(
        company=company,
        delivery=Invitation.Delivery.EMAIL,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).order_by("pk")
