"""Storing many numbers at once (CSV import, demo data), inside one transaction of the caller.

The role is checked once, when the store is made (before the caller's transaction: a refusal is
audited durably), the person-kind scope for every number; the caller writes one audit entry
for the whole batch when it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mnvault import fastinsert
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company
from mnvault.people.models import PersonPurpose
from mnvault.vault import api, datakeys
from mnvault.vault.access import Operation, kinds_in_scope
from mnvault.vault.errors import Refused
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.routers import KEY_STORE
from mnvault.vault.services import (
    Verification,
    check_purposes,
    guard,
    verification_fields,
)


class BulkStore:
    def __init__(
        self,
        *,
        actor: Actor,
        company: Company,
        purposes: Mapping[str, Sequence[str]],
        verification: Verification,
    ) -> None:
        """``purposes``: those notified to each kind of person, by kind (a kind missing or
        with none gets no number: callers refuse such rows first)."""
        guard(actor, company, Operation.IMPORT)
        for chosen in purposes.values():
            if chosen:
                check_purposes(company, chosen)
        # Person kinds this actor may import (None: all); callers report others row by row.
        self.kinds = kinds_in_scope(actor, company, Operation.IMPORT)
        self.company = company
        self.purposes = {kind: list(chosen) for kind, chosen in purposes.items()}
        self.verification = verification_fields(verification)
        self._index_key = datakeys.index_key(company.pk)

    def in_scope(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def purposes_of(self, kind: str) -> list[str]:
        return self.purposes.get(kind, [])

    def index(self, number: str) -> bytes:
        return api.number_index(self._index_key, number)

    def stored_among(self, indexes: Iterable[bytes]) -> set[bytes]:
        """Which of ``indexes`` the company already holds."""
        found = NumberRecord.objects.filter(company=self.company, number_index__in=list(indexes))
        return {bytes(i) for i in found.values_list("number_index", flat=True) if i is not None}

    @sensitive_variables("items", "dek")
    def store(
        self, items: Sequence[tuple[api.KeyHolder, str, bytes]], *, notified_on: date
    ) -> None:
        """Encrypt and insert validated numbers (with their ``index``) of people saved in the
        caller's ``vault_transaction``. Plain INSERTs (``fastinsert``): the hot path of an
        import."""
        kek, now, verification = datakeys.active_kek(), timezone.now(), self.verification
        verified_by = verification["verified_by"].pk if verification["verified_by"] else None
        data_keys: list[tuple[object, ...]] = []
        records: list[tuple[object, ...]] = []
        purposes: list[tuple[object, ...]] = []
        for person, number, index in items:
            if not self.in_scope(person.kind):
                raise Refused(code="scope")
            if not self.purposes_of(person.kind):
                check_purposes(self.company, [])  # raises: no purpose to hold the number for
            cid, pid, dek = person.company_id, person.pk, api.new_key()
            data_keys.append(
                (person.key_ref, cid, pid, kek.id, datakeys.wrap(kek, dek, person), now)
            )
            records.append(
                (
                    cid,
                    pid,
                    api.seal_field_under(dek, person, api.Field.NUMBER, number.encode("ascii")),
                    index,
                    NumberStatus.ACTIVE.value,
                    verification["channel"],
                    verification["document_kinds"],
                    verification["verified_on"],
                    verified_by,
                    verification["identity_exemption"],
                    now,
                    now,
                )
            )
            purposes.extend((pid, p, notified_on) for p in self.purposes_of(person.kind))
        fastinsert.insert(DataKey, DATA_KEY_COLUMNS, data_keys, using=KEY_STORE)
        fastinsert.insert(NumberRecord, RECORD_COLUMNS, records)
        fastinsert.insert(PersonPurpose, ("person", "purpose", "notified_on"), purposes)


DATA_KEY_COLUMNS = ("ref", "company_id", "person_id", "kek_id", "wrapped", "created_at")
RECORD_COLUMNS = (
    "company",
    "person",
    "ciphertext",
    "number_index",
    "status",
    "channel",
    "document_kinds",
    "verified_on",
    "verified_by",
    "identity_exemption",
    "created_at",
    "updated_at",
)
