"""The vault core's actions: the only code that encrypts or decrypts a number.

Each takes the acting user (or an ``Actor`` for an API client or the system) as a keyword-only
argument, checks role and purpose, and writes its audit entry in the same transaction as the
action. A refusal or failure is audited and changes nothing else; the caller then gets
``Refused`` or another ``VaultError``.

Every transaction here is durable (never nested in a caller's): a caller's rollback must not be
able to undo the audit entry of a refusal, nor commit a reveal's entry later than the reveal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.log import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault import crypto, datakeys
from mnvault.vault.access import Decision, Operation, decide
from mnvault.vault.errors import DuplicateNumber, KeyUnavailable, Refused, VaultError
from mnvault.vault.models import DocumentKind, NumberRecord, NumberStatus, VerificationChannel

NUMBER_FIELD = "individual_number"
NOT_STORED = "個人番号は登録されていません / no number is stored"


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
            raise VaultError("確認方法が不明です / unknown verification channel", code="channel")
        unknown = set(self.document_kinds) - set(DocumentKind.values)
        if unknown:
            raise VaultError("書類の種類が不明です / unknown document kind", code="document_kind")


def as_actor(acting_user: User | Actor) -> Actor:
    return acting_user if isinstance(acting_user, Actor) else Actor.of(acting_user)


@contextmanager
def vault_transaction() -> Iterator[None]:
    """One durable transaction over the data and the key store. The key store commits first,
    so a failure between the two commits can leave an unused key (found by no one: keys are
    looked up by a random reference), never a number without its key. The lock order (data,
    then keys) is the same everywhere, so SQLite writers cannot deadlock."""
    with transaction.atomic(durable=True), datakeys.key_store_atomic():
        yield


def _audit(actor: Actor, operation: str, company: Company, decision: Decision, **extra) -> None:
    audit.record(
        actor=actor,
        action=operation,
        outcome=Outcome.OK if decision.allowed else Outcome.REFUSED,
        reason=decision.reason,
        company_id=company.pk,
        **extra,
    )


def _record_failure(actor: Actor, operation: str, company: Company, error: VaultError, **extra):
    with transaction.atomic(durable=True):
        audit.record(
            actor=actor,
            action=operation,
            outcome=Outcome.FAILED,
            reason=error.code,
            company_id=company.pk,
            **extra,
        )


@contextmanager
def _failures_audited(actor: Actor, operation: str, company: Company, **extra) -> Iterator[None]:
    """A vault error inside the block rolls the action back, then is audited on its own."""
    try:
        yield
    except VaultError as error:
        if not isinstance(error, Refused):  # refusals were audited where they were decided
            _record_failure(actor, operation, company, error, **extra)
        raise


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
        with transaction.atomic(durable=True):
            _audit(
                actor,
                operation,
                company,
                decision,
                person_id=person.pk if person else None,
                purpose=purpose,
                client_address=client_address,
            )
        raise Refused(decision.message, code=decision.reason)


@sensitive_variables("dek")
def _decrypt(person: Person) -> str:
    record = NumberRecord.objects.filter(person=person).first()
    if record is None or record.status != NumberStatus.ACTIVE or record.ciphertext is None:
        raise KeyUnavailable(NOT_STORED, code="not_stored")
    dek = datakeys.dek_for(person, create=False)
    aad = crypto.field_aad(person.company_id, person.pk, NUMBER_FIELD)
    return crypto.open_sealed(dek, record.ciphertext, aad).decode("ascii")


def seal_number(person: Person, dek: bytes, number: str) -> bytes:
    return crypto.seal(
        dek, number.encode("ascii"), crypto.field_aad(person.company_id, person.pk, NUMBER_FIELD)
    )


def index_of(company: Company, number: str) -> bytes:
    """The keyed duplicate index of an already validated number within ``company``."""
    return crypto.number_index(datakeys.index_key(company.pk), number)


def _fresh(person: Person) -> Person:
    """The person as stored now: decisions never rest on a caller's stale or hand-made object."""
    return Person.objects.get(pk=person.pk)


@sensitive_variables("number")
def reveal_number(
    *, acting_user: User | Actor, person: Person, purpose: str, client_address: str = ""
) -> str:
    """The person's number in clear, for ``purpose``; audited whether shown or refused."""
    actor = as_actor(acting_user)
    company = Company.objects.get(pk=person.company_id)
    extra = {"person_id": person.pk, "purpose": purpose, "client_address": client_address}
    number = None
    with _failures_audited(actor, Operation.REVEAL, company, **extra), vault_transaction():
        person = _fresh(person)
        decision = decide(actor, company, Operation.REVEAL, person=person, purpose=purpose)
        if decision.allowed:
            number = _decrypt(person)
        _audit(actor, Operation.REVEAL, company, decision, **extra)
    if number is None:
        raise Refused(decision.message, code=decision.reason)
    return number


def _export_decision(
    actor: Actor, company: Company, people: Sequence[Person], purpose: str
) -> tuple[Decision, Person | None]:
    """The company-level decision, then each person's; the first refusal and whom it is for."""
    decision = decide(actor, company, Operation.EXPORT, purpose=purpose)
    for person in people if decision.allowed else ():
        decision = decide(actor, company, Operation.EXPORT, person=person, purpose=purpose)
        if not decision.allowed:
            return decision, person
    return decision, None


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
    extra = {"purpose": purpose, "client_address": client_address}
    result: list[tuple[Person, str]] = []
    detail = {"document": document}
    audited = _failures_audited(actor, Operation.EXPORT, company, detail=detail, **extra)
    with audited, vault_transaction():
        people = [_fresh(p) for p in people]
        decision, refused = _export_decision(actor, company, people, purpose)
        if not decision.allowed:
            _audit(
                actor,
                Operation.EXPORT,
                company,
                decision,
                person_id=refused.pk if refused else None,
                detail={**detail, "people": len(people)},
                **extra,
            )
        for person in people if decision.allowed else ():
            result.append((person, _decrypt(person)))
            _audit(
                actor,
                Operation.EXPORT,
                company,
                decision,
                person_id=person.pk,
                detail=detail,
                **extra,
            )
    if not decision.allowed:
        raise Refused(decision.message, code=decision.reason)
    return result


@sensitive_variables("number", "normalised", "dek")
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
    person = _fresh(person)
    company = Company.objects.get(pk=person.company_id)
    guard(actor, company, Operation.STORE, person=person, client_address=client_address)
    extra = {"person_id": person.pk, "client_address": client_address}
    with _failures_audited(actor, Operation.STORE, company, **extra), vault_transaction():
        record, created = write_number(person, company, normalised, purposes, verification)
        audit.record(
            actor=actor,
            action=Operation.STORE,
            company_id=company.pk,
            detail={"channel": verification.channel, "replaced": not created},
            **extra,
        )
    return record


@sensitive_variables("normalised", "dek")
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
    index = index_of(company, normalised)
    clash = NumberRecord.objects.filter(company=company, number_index=index)
    if clash.exclude(person=person).exists():
        raise DuplicateNumber()
    dek = datakeys.dek_for(person, create=True)
    record, created = NumberRecord.objects.update_or_create(
        person=person,
        defaults={
            "company": company,
            "ciphertext": seal_number(person, dek, normalised),
            "number_index": index,
            "status": NumberStatus.ACTIVE,
            **verification_fields(verification),
        },
    )
    notify_purposes(person, purposes)
    return record, created


def verification_fields(verification: Verification) -> dict:
    return {
        "channel": verification.channel,
        "document_kinds": list(verification.document_kinds),
        "verified_on": verification.verified_on or timezone.localdate(),
        "verified_by": verification.verified_by,
        "identity_exemption": verification.identity_exemption,
    }


def check_purposes(company: Company, purposes: Sequence[str]) -> None:
    if not purposes:
        raise VaultError(
            "利用目的を一つ以上通知してください / notify at least one purpose", code="no_purpose"
        )
    if not set(purposes) <= company.notified_purposes():
        raise VaultError(
            "会社が公表していない利用目的があります / "
            "a purpose is not among those the company notifies",
            code="purpose_not_notified_by_company",
        )


def notify_purposes(person: Person, purposes: Sequence[str]) -> None:
    today = timezone.localdate()
    for purpose in purposes:
        PersonPurpose.objects.get_or_create(
            person=person, purpose=purpose, defaults={"notified_on": today}
        )
