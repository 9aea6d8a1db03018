"""The vault's actions on a stored number: store, reveal, export.

Each takes the acting user (or an ``Actor`` for an API client or the system) as a keyword-only
argument and runs through ``api.decide_audit_act``: role and purpose are checked and the audit
entry is written in the same transaction as the action. A refusal or failure is audited and
changes nothing else; the caller then gets ``Refused`` or another ``VaultError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from mnvault.accounts.models import Membership, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.domain.roles import can
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault import api, datakeys
from mnvault.vault.access import Operation, decide
from mnvault.vault.errors import DuplicateNumber, KeyUnavailable, Refused, VaultError
from mnvault.vault.models import DocumentKind, NumberRecord, NumberStatus, VerificationChannel

NOT_STORED = _("No number is stored.")
NOT_ALLOWED = _("Your role does not allow this.")


@dataclass(frozen=True)
class Verification:
    """The verification record kept for every acquisition (domain R24)."""

    channel: str
    document_kinds: Sequence[str] = field(default_factory=tuple)
    verified_on: date | None = None
    verified_by: User | None = None
    identity_exemption: bool = False

    def __post_init__(self) -> None:
        if self.channel not in VerificationChannel.values:
            raise VaultError(_("Unknown verification channel."), code="channel")
        unknown = set(self.document_kinds) - set(DocumentKind.values)
        if unknown:
            raise VaultError(_("Unknown document kind."), code="document_kind")


def require(
    actor: Actor,
    company: Company,
    capability: str,
    action: str,
    *,
    detail: dict[str, Any],
    client_address: str = "",
) -> None:
    """The actor holds ``capability`` in ``company``, or the refusal is audited (durably) and
    raised: for the area services whose actions touch no number themselves but decide who may
    ask for one (document runs, disposal)."""
    held = []
    if actor.kind == "user" and actor.id is not None:
        held = list(
            Membership.objects.filter(
                user_id=actor.id, company=company, revoked_at__isnull=True, user__is_active=True
            ).values_list("role", flat=True)
        )
    if can(held, capability):
        return
    api.audit_durably(
        actor,
        action,
        company,
        None,
        outcome=Outcome.REFUSED,
        reason="role",
        client_address=client_address,
        detail=detail,
    )
    raise Refused(NOT_ALLOWED, code="role")


def as_actor(acting_user: User | Actor) -> Actor:
    return acting_user if isinstance(acting_user, Actor) else Actor.of(acting_user)


def guard(
    actor: Actor,
    company: Company,
    operation: str,
    *,
    person: Person | None = None,
    purpose: str = "",
    client_address: str = "",
) -> None:
    """Decide, and if refused, audit the refusal in a durable transaction and raise. For
    callers (such as the importer) that check once before their own transaction."""
    decision = decide(actor, company, operation, person=person, purpose=purpose)
    if not decision.allowed:
        api.audit_durably(
            actor,
            operation,
            company,
            person.pk if person else None,
            outcome=Outcome.REFUSED,
            reason=decision.reason,
            purpose=purpose,
            client_address=client_address,
        )
        raise Refused(decision.message, code=decision.reason)


@sensitive_variables("record")
def _open_stored(person: Person) -> str:
    record = NumberRecord.objects.filter(person=person).first()
    if record is None or record.status != NumberStatus.ACTIVE or record.ciphertext is None:
        raise KeyUnavailable(NOT_STORED, code="not_stored")
    return api.open_number(person, api.Field.NUMBER, record.ciphertext)


@sensitive_variables("number")
def reveal_number(
    *, acting_user: User | Actor, person: Person, purpose: str, client_address: str = ""
) -> str:
    """The person's number in clear, for ``purpose``; audited whether shown or refused."""
    company = Company.objects.get(pk=person.company_id)
    with api.decide_audit_act(
        actor=as_actor(acting_user),
        company=company,
        operation=Operation.REVEAL,
        person=person,
        purpose=purpose,
        client_address=client_address,
    ) as act:
        number = _open_stored(act.subject)
    return number


@sensitive_variables("result")
def export_numbers(
    *,
    acting_user: User | Actor,
    company: Company,
    people: Sequence[Person],
    purpose: str,
    document: str,
    client_address: str = "",
) -> list[tuple[Person, str]]:
    """Numbers for one statutory document (``document`` names it). All or none: one person
    out of scope or purpose refuses the whole export. One audit entry per person provided."""
    actor = as_actor(acting_user)
    result: list[tuple[Person, str]] = []
    detail = {"document": document}
    with api.decide_audit_act(
        actor=actor,
        company=company,
        operation=Operation.EXPORT,
        also_for=people,
        purpose=purpose,
        client_address=client_address,
        detail=detail,
    ) as act:
        act.record = False  # one entry per person instead
        for person in act.others:
            result.append((person, _open_stored(person)))
            audit.record(
                actor=actor,
                action=Action.NUMBER_EXPORT,
                company_id=company.pk,
                person_id=person.pk,
                purpose=purpose,
                client_address=client_address,
                detail=detail,
            )
    return result


@sensitive_variables("number", "normalised")
def store_number(
    *,
    acting_user: User | Actor,
    person: Person,
    number: str,
    purposes: Sequence[str],
    verification: Verification,
    client_address: str = "",
) -> NumberRecord:
    """Validate, encrypt and store the person's number with its verification record and the
    purposes notified to the person at collection."""
    actor = as_actor(acting_user)
    normalised = numbers.validate(number)
    company = Company.objects.get(pk=person.company_id)
    with api.decide_audit_act(
        actor=actor,
        company=company,
        operation=Operation.STORE,
        person=person,
        client_address=client_address,
    ) as act:
        record, created = write_number(act.subject, company, normalised, purposes, verification)
        act.detail.update(channel=verification.channel, replaced=not created)
    return record


@sensitive_variables("normalised")
def write_number(
    person: Person,
    company: Company,
    normalised: str,
    purposes: Sequence[str],
    verification: Verification,
) -> tuple[NumberRecord, bool]:
    """Seal and store an already validated number, inside the caller's vault transaction and
    after the caller's own role check; the caller writes the audit entry."""
    check_purposes(company, purposes)
    index = api.index_of(company, normalised)
    clash = NumberRecord.objects.filter(company=company, number_index=index)
    if clash.exclude(person=person).exists():
        raise DuplicateNumber()
    record, created = NumberRecord.objects.update_or_create(
        person=person,
        defaults={
            "company": company,
            "ciphertext": api.seal_number(person, api.Field.NUMBER, normalised),
            "number_index": index,
            "status": NumberStatus.ACTIVE,
            **verification_fields(verification),
        },
    )
    notify_purposes(person, purposes)
    return record, created


def verification_fields(verification: Verification) -> dict[str, Any]:
    return {
        "channel": verification.channel,
        "document_kinds": list(verification.document_kinds),
        "verified_on": verification.verified_on or timezone.localdate(),
        "verified_by": verification.verified_by,
        "identity_exemption": verification.identity_exemption,
    }


def check_purposes(company: Company, purposes: Sequence[str]) -> None:
    if not purposes:
        raise VaultError(_("Notify at least one purpose."), code="no_purpose")
    if not set(purposes) <= company.notified_purposes():
        raise VaultError(
            _("A purpose is not among those the company notifies."),
            code="purpose_not_notified_by_company",
        )


def notify_purposes(person: Person, purposes: Sequence[str]) -> None:
    today = timezone.localdate()
    for purpose in purposes:
        PersonPurpose.objects.get_or_create(
            person=person, purpose=purpose, defaults={"notified_on": today}
        )


def key_file_outdated() -> bool:
    """Whether this server's key file lacks the key store's active key-encryption key (rotated
    on another host since the file was copied): every reveal here would fail until the current
    key file is copied in. For ``/healthz``: one query."""
    return datakeys.key_file_outdated()
