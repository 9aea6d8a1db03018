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

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from mnvault.people.models import Person
from mnvault.vault import datakeys
from mnvault.vault.models import DataKey, DisposalJournal, NumberRecord, NumberStatus
from mnvault.vault.routers import KEY_STORE

JOURNAL_FILE = "disposal-journal.jsonl"


@dataclass(frozen=True)
class JournalEntry:
    """One disposal as the journal keeps it outside the data database (issue 13, item 3)."""

    batch_id: int
    company_id: int
    certificate: str
    person_ids: tuple[int, ...]
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "company": self.company_id,
            "certificate": self.certificate,
            "people": list(self.person_ids),
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        return cls(
            batch_id=int(data["batch"]),
            company_id=int(data["company"]),
            certificate=str(data["certificate"]),
            person_ids=tuple(int(pk) for pk in data["people"]),
            at=datetime.fromisoformat(data["at"]),
        )


def journal_file() -> Path:
    """Beside the checkpoint file: the storage an operator already keeps apart from the data."""
    return Path(settings.MNVAULT_CHECKPOINT_FILE).parent / JOURNAL_FILE


def read_journal_file(path: Path) -> list[JournalEntry]:
    """The entries of a journal file; a last line cut short by a crash is left out."""
    if not path.exists():
        return []
    found = []
    for line in path.read_bytes().splitlines():
        try:
            found.append(JournalEntry.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def journal_in_key_store() -> list[JournalEntry]:
    return [
        JournalEntry(
            batch_id=row.batch_id,
            company_id=row.company_id,
            certificate=row.certificate_number,
            person_ids=tuple(row.person_ids),
            at=row.disposed_at,
        )
        for row in DisposalJournal.objects.using(KEY_STORE).order_by("disposed_at", "pk")
    ]


def _journal(entry: JournalEntry) -> None:
    """Inside the shredding's key-store transaction: the row commits with the key destruction;
    the file line is appended and synced before that commit, so a disposal whose keys are gone
    is never missing from the file (a line for a commit that then failed names an approved
    disposal the sweep redoes, which a restore may apply early without harm)."""
    DisposalJournal.objects.using(KEY_STORE).create(
        batch_id=entry.batch_id,
        company_id=entry.company_id,
        certificate_number=entry.certificate,
        person_ids=list(entry.person_ids),
        disposed_at=entry.at,
    )
    path = journal_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as handle:
        handle.write((json.dumps(entry.as_json(), sort_keys=True) + "\n").encode("ascii"))
        handle.flush()
        os.fsync(handle.fileno())


def shred_keys(people: Sequence[Person], *, journal: JournalEntry | None = None) -> int:
    """Destroy every key of ``people`` (their data keys and their identity-document photo keys)
    in a durable key-store transaction of its own, with the disposal's ``journal`` entry;
    the count of keys destroyed."""
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
        if journal is not None:
            _journal(journal)
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
