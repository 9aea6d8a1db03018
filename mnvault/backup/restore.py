"""Restore (issue 13, item 3): an archive into an empty data directory and empty databases,
all or none; every disposal the journal records re-applied, so a number disposed after the
backup stays undecryptable; and the signed restore marker that keeps ``audit verify``
passing through the entries the restore lost (``audit.restores``). Also the second half
alone, after the firm restored the databases with its own tools."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit import log as audit
from mnvault.audit import restores, witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import checkpoint_file
from mnvault.audit.models import AuditEntry
from mnvault.backup import postgres
from mnvault.backup.archive import ArchiveProblem, Opened, open_archive
from mnvault.backup.services import CHECKPOINTS, member_of, sqlite_path
from mnvault.people.models import Person
from mnvault.retention.models import BatchStatus, DisposalBatch, DisposalItem
from mnvault.vault import disposal
from mnvault.vault.disposal import JournalEntry
from mnvault.vault.models import NumberRecord, NumberStatus


def refuse_non_empty(directory: Path) -> None:
    """The data directory, and on PostgreSQL each database, must be empty."""
    if directory.exists() and any(directory.iterdir()):
        raise ArchiveProblem(
            _(
                "The data directory %(path)s is not empty: restore only into an empty (or new) "
                "directory, so that nothing of another installation is mixed in."
            )
            % {"path": directory}
        )
    for alias in ("default", "keys"):
        if postgres.is_postgres(alias):
            postgres.refuse_non_empty(alias)
        elif sqlite_path(alias).exists():  # a database file kept outside the data directory
            raise ArchiveProblem(
                _("%(path)s exists: restore only where no database is yet.")
                % {"path": sqlite_path(alias)}
            )


def unpack(archive: Path, identity: Any, keys_archive: Path | None) -> tuple[Opened, Opened | None]:
    """Both archives opened in memory, and found to fit this installation's databases, before
    anything is written."""
    data = open_archive(archive, identity, kind="data")
    keys = open_archive(keys_archive, identity, kind="keys") if keys_archive else None
    for alias, opened in (("default", data), ("keys", keys)):
        if opened is not None and member_of(alias) not in opened.members:
            raise ArchiveProblem(_mismatch(alias))
    return data, keys


def _mismatch(alias: str) -> str:
    if postgres.is_postgres(alias):
        return _(
            "This backup is of an installation on SQLite, and this one is configured for "
            "PostgreSQL (DATABASE_URL): restore it with the settings it was made with."
        )
    return _(
        "This backup is of an installation on PostgreSQL: set DATABASE_URL (and "
        "MNVAULT_KEYSTORE_URL if it was set) to the new, empty databases, then restore."
    )


@dataclass
class Placed:
    """The files a restore made outside the data directory (the key file, the checkpoint
    file) that were not there when it began, to be removed if it fails before its restore
    entry."""

    new_files: list[Path] = field(default_factory=list)

    def note_new(self, path: Path) -> None:
        if not path.exists():
            self.new_files.append(path)


def install(data: Opened, keys: Opened | None, placed: Placed) -> None:
    """The databases into the (empty) data directory or (empty) PostgreSQL databases. Then
    the checkpoint copy where the checkpoint file belongs unless one is there already (on
    other storage, kept by the operator)."""
    for alias, opened in (("default", data), ("keys", keys)):
        if opened is not None:
            _install_one(alias, opened.members[member_of(alias)])
    target = checkpoint_file()
    if not target.exists() and data.members.get(CHECKPOINTS):
        placed.note_new(target)
        paths.write_private_file(target, data.members[CHECKPOINTS])


def take_back(placed: Placed, data_dir: Path) -> None:
    """Everything a failed restore wrote: the data directory and both databases were empty
    (or absent) when it began (``refuse_non_empty``), so they are emptied again — the one
    the migrations made too, when no key-store archive was given — and the files it made
    elsewhere are removed. Not for a failure after the restore entry was written: that one is
    finished instead (``audit.restores.finish_pending``)."""
    connections.close_all()
    for alias in ("default", "keys"):
        # Best effort: the restore's own error is the one to report (a server gone away
        # would fail this too); what is left then makes the next restore refuse, plainly.
        with contextlib.suppress(Exception):
            _uninstall_one(alias)
    for path in placed.new_files:
        path.unlink(missing_ok=True)
    if data_dir.exists():
        for child in data_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink(missing_ok=True)


def _install_one(alias: str, image: bytes | bytearray) -> None:
    if postgres.is_postgres(alias):
        postgres.load(alias, image)
    else:
        paths.write_private_file(sqlite_path(alias), image)


def _uninstall_one(alias: str) -> None:
    """Only ever for a database this restore found empty (or absent)."""
    if postgres.is_postgres(alias):
        postgres.empty(alias)
        return
    path = sqlite_path(alias)
    for each in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        each.unlink(missing_ok=True)


def journal_entries(keys: Opened | None, extra: list[Path]) -> list[JournalEntry]:
    """Every disposal known: the restored key store's journal, the journal file beside the
    checkpoint file, and the files named on the command line; each once."""
    found = list(disposal.journal_in_key_store())
    for path in [disposal.journal_file(), *extra]:
        found += disposal.read_journal_file(path)
    if keys is not None:
        for line in keys.members.get(disposal.JOURNAL_FILE, b"").splitlines():
            try:
                found.append(JournalEntry.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue
    unique: dict[tuple[int, str, tuple[int, ...]], JournalEntry] = {}
    for entry in sorted(found, key=lambda e: e.at):
        unique.setdefault((entry.batch_id, entry.certificate, entry.person_ids), entry)
    return list(unique.values())


def reapply_disposals(entries: list[JournalEntry], *, actor: Actor) -> int:
    """Shred again and mark disposed everyone a journal entry disposed of whom the restored
    data still shows with a number or a key; the count of people."""
    recorded = {(e.batch_id, e.certificate) for e in disposal.journal_in_key_store()}
    done = 0
    for entry in entries:
        people = list(Person.objects.filter(pk__in=entry.person_ids).order_by("pk"))
        open_records = set(
            NumberRecord.objects.filter(person__in=people)
            .exclude(status=NumberStatus.DISPOSED)
            .values_list("person_id", flat=True)
        )
        pending = set(disposal.keys_remaining(people)) | open_records
        todo = [p for p in people if p.pk in pending]
        if not todo and (entry.batch_id, entry.certificate) in recorded:
            continue
        known = (entry.batch_id, entry.certificate) in recorded
        disposal.shred_keys(todo, journal=None if known else entry)
        with transaction.atomic():
            disposal.mark_disposed(
                todo, on=timezone.localdate(entry.at), certificate=entry.certificate
            )
            DisposalBatch.objects.filter(pk=entry.batch_id).exclude(status=BatchStatus.DONE).update(
                status=BatchStatus.DONE,
                disposed_at=entry.at,
                certificate_number=entry.certificate,
            )
            DisposalItem.objects.filter(
                batch_id=entry.batch_id, person_id__in=[p.pk for p in todo]
            ).update(shredded_at=entry.at)
            audit.record_many(
                [
                    {
                        "actor": actor,
                        "action": Action.DISPOSAL_SHRED,
                        "company_id": entry.company_id,
                        "person_id": person.pk,
                        "detail": {
                            "batch": entry.batch_id,
                            "certificate": entry.certificate,
                            "reapplied": True,
                        },
                    }
                    for person in todo
                ]
            )
        done += len(todo)
    return done


def record_restore(data: Opened, *, reapplied: int, actor: Actor) -> None:
    """The restore of an archive: its head and time are the manifest's."""
    detail = {"backup_of": data.manifest.get("taken_at", ""), "reapplied_people": reapplied}
    _signed_restore(int(data.manifest.get("head", 0)), detail, actor)


def current_head() -> int:
    """The last entry of the audit log as the restored database holds it."""
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def record_external_restore(head: int, *, reapplied: int, actor: Actor) -> None:
    """The restore entry and line after the databases were restored with other tools
    (pg_restore, pgBackRest): the restored point is the time of the log's last entry."""
    at = AuditEntry.objects.filter(seq=head).values_list("created_at", flat=True).first()
    detail = {
        "backup_of": at.isoformat() if at else "",
        "reapplied_people": reapplied,
        "restored_by": "external",
    }
    _signed_restore(head, detail, actor)


def _signed_restore(head: int, detail: dict[str, Any], actor: Actor) -> None:
    """The signed restore entry and restore line (``audit.restores``): ``audit verify`` then
    accepts a checkpoint file that ran past the restored head, through them alone. The
    restore line goes to the witness file too, so the witness goes on from the new head."""
    _entry, mark = restores.record_restore(head=head, actor=actor, detail=detail)
    witness.witness_restore(mark)
