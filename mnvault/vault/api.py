"""The vault's public API: the only module that encrypts or decrypts anything.

Three layers, each built on the one above it:

* AES-256-GCM primitives (``encrypt``/``decrypt`` with associated data), used by the key file,
  the key store and this module — nothing else in mnvault touches a cipher.
* Fields of a person: ``seal_field``/``open_field`` seal bytes under a data key of the person
  (their DEK, or a key of their own for what must be destroyable apart, such as identity
  photos) with one associated-data convention, company | person | field, so a ciphertext
  copied onto another record, person or field fails to open. A draft's number is just another
  field (``Field.submitted_number``). ``destroy_key``/``destroy_person_keys`` crypto-shred.
* ``decide_audit_act``: the one way an action on a number is done — the role table and the
  purposes decide, the audit entry is written in the same transaction as the act, a refusal is
  audited durably and changes nothing, and a failure rolls the act back and is audited.

See docs/architecture.md, "Keys and encryption" and "The vault API".
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from mnvault.audit import log as audit
from mnvault.audit.models import Outcome
from mnvault.people.models import Person
from mnvault.vault import datakeys  # which uses this module's ciphers: a cycle by design
from mnvault.vault.access import decide
from mnvault.vault.errors import DecryptionFailed, Refused, VaultError

if TYPE_CHECKING:
    from mnvault.audit.actors import Actor
    from mnvault.companies.models import Company


class KeyHolder(Protocol):
    """What sealing needs of a person: a saved ``Person``, or the import's lighter draft of
    one (``people.csv_rows.PersonDraft``) once it has an id."""

    company_id: int
    kind: str
    key_ref: str

    @property
    def pk(self) -> Any: ...


FORMAT_V1 = b"\x01"
NONCE_BYTES = 12

# --- AES-256-GCM ---------------------------------------------------------------------------


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class Cipher:
    """AES-GCM under one key, built once for bulk work (wrapping thousands of DEKs)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, aad)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return Cipher(key).encrypt(plaintext, aad)


def decrypt(key: bytes, blob: bytes | memoryview, aad: bytes) -> bytes:
    """Fail closed: a blob that does not authenticate raises, never falls back to the bytes."""
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise DecryptionFailed()
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionFailed() from None


def field_aad(company_id: int, person_id: int, field: str) -> bytes:
    return f"mnvault:v1|company={company_id}|person={person_id}|field={field}".encode()


def dek_aad(company_id: int, person_id: int, kek_id: str) -> bytes:
    return f"mnvault:dek:v1|company={company_id}|person={person_id}|kek={kek_id}".encode()


def company_index_key(index_secret: bytes, company_id: int) -> bytes:
    """Each company gets its own index key, so the same number gives unrelated values in two
    companies and the index can never link people across companies (domain R12)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"mnvault:index:v1|company={company_id}".encode(),
    ).derive(index_secret)


def number_index(index_key: bytes, number: str) -> bytes:
    return hmac.new(index_key, number.encode("ascii"), hashlib.sha256).digest()


# --- fields of a person ----------------------------------------------------------------------


class Field:
    """The names of what is sealed for a person; part of the associated data."""

    NUMBER = "individual_number"

    @staticmethod
    def submitted_number(submission_ref: str) -> str:
        return f"submission:{submission_ref}:number"

    @staticmethod
    def submitted_dependent(submission_ref: str, dependent_ref: str) -> str:
        return f"submission:{submission_ref}:dependent:{dependent_ref}"

    @staticmethod
    def document(document_ref: str) -> str:
        return f"document:{document_ref}"


@sensitive_variables("plaintext", "key")
def seal_field(
    person: Person, field: str, plaintext: bytes, *, key_ref: str | None = None
) -> bytes:
    """``plaintext`` sealed under the person's DEK (or their key ``key_ref``), made if new.
    Call inside ``vault_transaction``."""
    key = datakeys.key_for(key_ref or person.key_ref, person, create=True)
    return seal_field_under(key, person, field, plaintext)


@sensitive_variables("plaintext", "key")
def seal_field_under(key: bytes, person: KeyHolder, field: str, plaintext: bytes) -> bytes:
    """As ``seal_field``, under a key the caller already holds (bulk work that makes many
    DEKs at once)."""
    return encrypt(key, plaintext, field_aad(person.company_id, person.pk, field))


@sensitive_variables("key")
def open_field(
    person: Person, field: str, blob: bytes | memoryview, *, key_ref: str | None = None
) -> bytes:
    """The clear bytes of a sealed field; ``KeyUnavailable`` once the key is destroyed.
    Only the vault's actions and ``decide_audit_act`` blocks call this."""
    key = datakeys.key_for(key_ref or person.key_ref, person, create=False)
    return decrypt(key, blob, field_aad(person.company_id, person.pk, field))


@sensitive_variables("plaintext", "key")
def seal_secret(ref: str, company_id: int, context: str, plaintext: bytes) -> bytes:
    """A short-lived secret of the company (a download password) sealed under a key of its
    own, ``ref``, made here; ``destroy_key(ref)`` ends it for good. Call inside
    ``vault_transaction``."""
    key = datakeys.company_key(ref, company_id, create=True)
    return encrypt(key, plaintext, f"secret|{company_id}|{context}".encode())


@sensitive_variables("key")
def open_secret(ref: str, company_id: int, context: str, blob: bytes | memoryview) -> bytes:
    key = datakeys.company_key(ref, company_id, create=False)
    return decrypt(key, blob, f"secret|{company_id}|{context}".encode())


# --- second factors of users -------------------------------------------------------------------
# Sealed under keys derived (HKDF, each with its own label) from the index secret of the key
# file: like the index, they must survive KEK rotation, and a dump of the data database
# without the key file then holds neither a TOTP secret nor anything to test recovery codes on.


def _user_secret_key(label: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"mnvault:{label}:v1".encode()
    ).derive(datakeys.index_secret())


def totp_aad(device_id: int, user_id: int) -> bytes:
    return f"totp|{device_id}|{user_id}".encode()


@sensitive_variables("secret")
def seal_totp_secret(device_id: int, user_id: int, secret: bytes) -> bytes:
    """A TOTP secret bound to its device and user: copied onto another row, it fails to open."""
    return encrypt(_user_secret_key("totp"), secret, totp_aad(device_id, user_id))


def open_totp_secret(device_id: int, user_id: int, blob: bytes | memoryview) -> bytes:
    return decrypt(_user_secret_key("totp"), blob, totp_aad(device_id, user_id))


@sensitive_variables("code")
def recovery_code_digest(salt: bytes, code: str) -> bytes:
    """HMAC-SHA256 of a recovery code under a key of the key file, with a salt per code: fast
    (ten codes are tried at each attempt), and a dump without the key file gives nothing to
    guess against, even for the shorter codes made before mnvault hashed them."""
    key = _user_secret_key("recovery-code")
    return hmac.new(key, salt + code.encode(), hashlib.sha256).digest()


def seal_number(person: Person, field: str, number: str) -> bytes:
    return seal_field(person, field, number.encode("ascii"))


def open_number(person: Person, field: str, blob: bytes | memoryview) -> str:
    return open_field(person, field, blob).decode("ascii")


def index_of(company: Company, number: str) -> bytes:
    """The keyed duplicate index of an already validated number within ``company``."""
    return number_index(datakeys.index_key(company.pk), number)


def destroy_key(ref: str) -> bool:
    """Crypto-shredding of one key, in a durable key-store transaction of its own: whatever it
    sealed is unreadable for good, backups of the data included."""
    with datakeys.key_store_atomic(durable=True):
        return datakeys.destroy_key(ref)


def destroy_person_keys(person: Person) -> int:
    """Every key of the person (their DEK and the keys of their document photos) shredded."""
    with datakeys.key_store_atomic(durable=True):
        return datakeys.destroy_person_keys(person)


@contextmanager
def vault_transaction() -> Iterator[None]:
    """One durable transaction over the data and the key store. The key store commits first,
    so a failure between the two commits can leave an unused key (found by no one: keys are
    looked up by a random reference), never a number without its key. The lock order (data,
    then keys) is the same everywhere, so SQLite writers cannot deadlock."""
    with transaction.atomic(durable=True), datakeys.key_store_atomic():
        yield


# --- decide, audit, act ----------------------------------------------------------------------


@dataclass
class Act:
    """What a ``decide_audit_act`` block works with, and adds to its audit entry."""

    actor: Actor
    company: Company
    person: Person | None
    others: list[Person]
    action: str
    purpose: str = ""
    client_address: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    record: bool = True  # False once the entry is written, or when the block writes its own

    @property
    def subject(self) -> Person:
        """The one person the act was decided for."""
        if self.person is None:
            raise VaultError(code="no_person")  # a caller's mistake: the generic message
        return self.person

    def audit_now(self) -> None:
        """Write the action's entry at this point of the block (so that it precedes the
        entries of what follows from it) instead of at the end."""
        _entry(
            self.actor,
            self.action,
            self.company,
            self.person.pk if self.person is not None else None,
            purpose=self.purpose,
            client_address=self.client_address,
            detail=self.detail,
        )
        self.record = False


def _entry(
    actor: Actor, action: str, company: Company, person_id: int | None, **fields: Any
) -> None:
    audit.record(actor=actor, action=action, company_id=company.pk, person_id=person_id, **fields)


def audit_durably(
    actor: Actor, action: str, company: Company, person_id: int | None, **fields: Any
) -> None:
    """An entry that must stand whatever the caller's transaction does (a refusal, a
    failure)."""
    with transaction.atomic(durable=True):
        _entry(actor, action, company, person_id, **fields)


@contextmanager
def decide_audit_act(
    *,
    actor: Actor,
    company: Company,
    operation: str,
    person: Person | None = None,
    also_for: Sequence[Person] = (),
    purpose: str = "",
    action: str | None = None,
    client_address: str = "",
    detail: dict[str, Any] | None = None,
) -> Iterator[Act]:
    """Decide whether ``actor`` may do ``operation`` (for ``person`` and each of
    ``also_for``, for ``purpose``), inside one vault transaction that re-reads the person;
    run the block; write the audit entry ``action`` (default: the operation) in the same
    transaction. A refusal is audited and raises ``Refused`` with nothing else changed; a
    ``VaultError`` in the block rolls the block back and is audited as failed.

    Every transaction here is durable (never nested in a caller's): a caller's rollback must
    not be able to undo the audit entry of a refusal, nor commit an entry later than its act.
    """
    action = action or operation
    fields: dict[str, Any] = {"purpose": purpose, "client_address": client_address}
    base_detail = dict(detail or {})
    person_id = person.pk if person is not None else None
    refusal = None
    try:
        with vault_transaction():
            # Decisions rest on the people as stored now, never on a caller's stale object.
            fresh = Person.objects.get(pk=person.pk) if person is not None else None
            others = [Person.objects.get(pk=p.pk) if p.pk is not None else p for p in also_for]
            # The numbers the act would show are counted once, against the hourly limits.
            amount = max(1, len(others))
            decision = decide(
                actor, company, operation, person=fresh, purpose=purpose, amount=amount
            )
            refused_for = person_id
            for other in others if decision.allowed else ():
                decision = decide(
                    actor, company, operation, person=other, purpose=purpose, amount=0
                )
                if not decision.allowed:
                    refused_for = other.pk if other.pk is not None else person_id
                    break
            if decision.allowed:
                act = Act(actor, company, fresh, others, action, purpose, client_address)
                act.detail.update(base_detail)
                yield act
                if act.record:
                    act.audit_now()
            else:
                refusal = decision
                _entry(
                    actor,
                    action,
                    company,
                    refused_for,
                    outcome=Outcome.REFUSED,
                    reason=decision.reason,
                    detail=base_detail,
                    **fields,
                )
    except VaultError as error:
        if not isinstance(error, Refused):  # refusals were audited where they were decided
            audit_durably(
                actor,
                action,
                company,
                person_id,
                outcome=Outcome.FAILED,
                reason=error.code,
                detail=base_detail,
                **fields,
            )
        raise
    if refusal is not None:
        raise Refused(refusal.message, code=refusal.reason)
