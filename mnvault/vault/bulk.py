"""Storing many numbers at once (CSV import, demo data), inside one transaction of the caller.

The role is checked once, before the caller opens its transaction, and a refusal is audited in a
transaction of its own; the caller writes one audit entry for the whole batch when it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mnvault.audit.log import Actor
from mnvault.companies.models import Company
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault import crypto, datakeys, keys
from mnvault.vault.access import Operation, kinds_in_scope
from mnvault.vault.errors import Refused
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.services import (
    NUMBER_FIELD,
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
        purposes: Sequence[str],
        verification: Verification,
    ) -> None:
        guard(actor, company, Operation.IMPORT)
        check_purposes(company, purposes)
        # Person kinds this actor may import (None: all); callers report others row by row.
        self.kinds = kinds_in_scope(actor, company, Operation.IMPORT)
        self.company = company
        self.purposes = list(purposes)
        self.verification = verification_fields(verification)
        self._index_key = datakeys.index_key(company.pk)
        material = keys.material()
        self._kek_id = material.active_kek_id
        self._kek = crypto.Sealer(material.kek(self._kek_id))

    def in_scope(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def index(self, number: str) -> bytes:
        return crypto.number_index(self._index_key, number)

    def stored_among(self, indexes: Iterable[bytes]) -> set[bytes]:
        """Which of ``indexes`` the company already holds."""
        found = NumberRecord.objects.filter(company=self.company, number_index__in=list(indexes))
        return {bytes(i) for i in found.values_list("number_index", flat=True)}

    def store(self, pairs: Sequence[tuple[Person, str]], *, notified_on) -> None:
        """Encrypt and insert validated numbers of people saved in this transaction."""
        cid = self.company.pk
        data_keys, records, purposes = [], [], []
        for person, number in pairs:
            if not self.in_scope(person.kind):
                raise Refused(code="scope")
            dek = crypto.new_key()
            data_keys.append(
                DataKey(
                    company_id=cid,
                    person_id=person.pk,
                    kek_id=self._kek_id,
                    wrapped=self._kek.seal(dek, crypto.dek_aad(cid, person.pk, self._kek_id)),
                )
            )
            aad = crypto.field_aad(cid, person.pk, NUMBER_FIELD)
            records.append(
                NumberRecord(
                    company_id=cid,
                    person_id=person.pk,
                    ciphertext=crypto.seal(dek, number.encode("ascii"), aad),
                    number_index=self.index(number),
                    status=NumberStatus.ACTIVE,
                    **self.verification,
                )
            )
            purposes.extend(
                PersonPurpose(person_id=person.pk, purpose=p, notified_on=notified_on)
                for p in self.purposes
            )
        DataKey.objects.bulk_create(data_keys)
        NumberRecord.objects.bulk_create(records)
        PersonPurpose.objects.bulk_create(purposes)
