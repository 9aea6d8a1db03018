"""The vault core's actions: the only code that encrypts or decrypts a number.

Each takes the acting user (or an ``Actor`` for an API client or the system) as a keyword-only
argument, checks role and purpose, and writes its audit entry in the same transaction as the
action. A refusal is audited and changes nothing else; the caller then gets ``Refused``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.log import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault import crypto, datakeys, numbers
from mnvault.vault.access import Decision, Operation, decide
from mnvault.vault.errors import DuplicateNumber, KeyUnavailable, Refused, VaultError
from mnvault.vault.models import DocumentKind, NumberRecord, NumberStatus, VerificationChannel

NUMBER_FIELD = "individual_number"


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
    """One transaction over the data and the key store. The key store commits first, so a
    failure between the two commits can leave an unused key, never a number without its key.
    The lock order (data, then keys) is the same everywhere, so SQLite writers cannot deadlock."""
    with transaction.atomic(), datakeys.key_store_atomic():
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
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=operation,
            outcome=Outcome.FAILED,
            reason=error.code,
            company_id=company.pk,
            **extra,
        )


def guard(
    actor: Actor,
    company: Company,
    operation: str,
    *,
    person: Person | None = None,
    purpose: str = "",
    client_address: str = "",
) -> None:
    """Decide, and if refused, audit the refusal in a transaction of its own and raise. For
    callers (such as the importer) that check once before a long transaction."""
    decision = decide(actor, company, operation, person=person, purpose=purpose)
    if not decision.allowed:
        with transaction.atomic():
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


def _decrypt(record: NumberRecord) -> str:
    if record.status != NumberStatus.ACTIVE or record.ciphertext is None:
        raise KeyUnavailable(
            "個人番号は登録されていません / no number is stored", code="not_stored"
        )
    dek = datakeys.dek_for(record.company_id, record.person_id, create=False)
    aad = crypto.field_aad(record.company_id, record.person_id, NUMBER_FIELD)
    return crypto.open_sealed(dek, record.ciphertext, aad).decode("ascii")


def encrypt_for(company_id: int, person_id: int, dek: bytes, number: str) -> bytes:
    return crypto.seal(
        dek, number.encode("ascii"), crypto.field_aad(company_id, person_id, NUMBER_FIELD)
    )


def index_of(company: Company, number: str) -> bytes:
    """The keyed duplicate index of an already validated number within ``company``."""
    return crypto.number_index(datakeys.index_key(company.pk), number)


def reveal_number(
    *, acting_user: User | Actor, person: Person, purpose: str, client_address: str = ""
) -> str:
    """The person's number in clear, for ``purpose``; audited whether shown or refused."""
    actor = as_actor(acting_user)
    company = Company.objects.get(pk=person.company_id)
    extra = {"person_id": person.pk, "purpose": purpose, "client_address": client_address}
    try:
        with vault_transaction():
            decision = decide(actor, company, Operation.REVEAL, person=person, purpose=purpose)
            number = None
            if decision.allowed:
                number = _decrypt(NumberRecord.objects.get(person=person))
            _audit(actor, Operation.REVEAL, company, decision, **extra)
    except NumberRecord.DoesNotExist:
        error = KeyUnavailable(
            "個人番号は登録されていません / no number is stored", code="not_stored"
        )
        _record_failure(actor, Operation.REVEAL, company, error, **extra)
        raise error from None
    except VaultError as error:
        _record_failure(actor, Operation.REVEAL, company, error, **extra)
        raise
    if number is None:
        raise Refused(decision.message, code=decision.reason)
    return number


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
    with vault_transaction():
        decision = decide(actor, company, Operation.EXPORT, purpose=purpose)
        refused_person = None
        for person in people if decision.allowed else ():
            decision = decide(actor, company, Operation.EXPORT, person=person, purpose=purpose)
            if not decision.allowed:
                refused_person = person.pk
                break
        if not decision.allowed:
            _audit(
                actor,
                Operation.EXPORT,
                company,
                decision,
                person_id=refused_person,
                detail={"document": document, "people": len(people)},
                **extra,
            )
        else:
            records = {r.person_id: r for r in NumberRecord.objects.filter(person__in=people)}
            result = []
            for person in people:
                if person.pk not in records:
                    raise KeyUnavailable(code="not_stored")
                result.append((person, _decrypt(records[person.pk])))
                _audit(
                    actor,
                    Operation.EXPORT,
                    company,
                    decision,
                    person_id=person.pk,
                    detail={"document": document},
                    **extra,
                )
    if not decision.allowed:
        raise Refused(decision.message, code=decision.reason)
    return result


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
    guard(actor, company, Operation.STORE, person=person, client_address=client_address)
    check_purposes(company, purposes)
    index = index_of(company, normalised)
    with vault_transaction():
        clash = NumberRecord.objects.filter(company=company, number_index=index)
        if clash.exclude(person=person).exists():
            raise DuplicateNumber()
        dek = datakeys.dek_for(company.pk, person.pk, create=True)
        record, created = NumberRecord.objects.update_or_create(
            person=person,
            defaults={
                "company": company,
                "ciphertext": encrypt_for(company.pk, person.pk, dek, normalised),
                "number_index": index,
                "status": NumberStatus.ACTIVE,
                **verification_fields(verification),
            },
        )
        notify_purposes(person, purposes)
        audit.record(
            actor=actor,
            action=Operation.STORE,
            company_id=company.pk,
            person_id=person.pk,
            client_address=client_address,
            detail={"channel": verification.channel, "replaced": not created},
        )
    return record


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
