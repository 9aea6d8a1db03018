"""Crypto-shredding (廃棄, domain R5, R6): a disposed number is made unreadable for good by
destroying the keys that sealed it, then its ciphertext and duplicate index are deleted and its
record marked disposed — the rest of the person's record stays.

The order is the guarantee: the key store commits first, on its own, so a crash between the two
commits leaves a number that nothing can decrypt but that is not yet marked disposed — never one
marked disposed that could still be decrypted. ``retention.services.sweep`` finishes such a half
done disposal. Backups of the data hold the ciphertext, but not the key: the key store is backed
up apart, for a short window only, which the certificate states.

Who may dispose of what is decided by the retention area (two-person approval) before it calls
these functions; they only act.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction

from mnvault.people.models import Person
from mnvault.vault import datakeys
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.routers import KEY_STORE


def shred_keys(people: Sequence[Person]) -> int:
    """Destroy every key of ``people`` (their data keys and their identity-document photo keys)
    in a durable key-store transaction of its own; the count of keys destroyed."""
    ids = [p.pk for p in people]
    company_ids = {p.company_id for p in people}
    destroyed = 0
    with datakeys.key_store_atomic(durable=True):
        for start in range(0, len(ids), 500):
            found = DataKey.objects.using(KEY_STORE).filter(
                company_id__in=company_ids, person_id__in=ids[start : start + 500]
            )
            count, _ = found.delete()
            destroyed += count
    return destroyed


def keys_remaining(people: Sequence[Person]) -> set[int]:
    """Who among ``people`` still has a key in the key store (a disposal to redo)."""
    found = DataKey.objects.using(KEY_STORE).filter(person_id__in=[p.pk for p in people])
    return {pk for pk in found.values_list("person_id", flat=True)}


def mark_disposed(people: Sequence[Person], *, on: date, certificate: str) -> int:
    """Inside the caller's data transaction, after ``shred_keys`` committed: delete each
    number's ciphertext and index and mark it disposed with the date and certificate."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("mark_disposed runs inside the disposal's transaction")
    ids = [p.pk for p in people]
    updated = 0
    for start in range(0, len(ids), 500):
        updated += NumberRecord.objects.filter(person_id__in=ids[start : start + 500]).update(
            status=NumberStatus.DISPOSED,
            ciphertext=None,
            number_index=None,
            disposed_on=on,
            certificate_number=certificate,
        )
    return updated
