"""Backup and restore (issue 13): online SQLite snapshots encrypted to a public key the server
holds without its private half, and a restore that re-applies every disposal the journal
records, so a number disposed after the backup stays undecryptable."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit import log as audit
from mnvault.audit import restores, witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import RESTORE_KIND, checkpoint_file, write_checkpoint
from mnvault.audit.models import AuditEntry
from mnvault.backup.archive import (
    ArchiveProblem,
    Opened,
    open_archive,
    recipient_from,
    write_archive,
)
from mnvault.people.models import Person
from mnvault.retention.models import BatchStatus, DisposalBatch, DisposalItem
from mnvault.vault import disposal
from mnvault.vault.disposal import JournalEntry
from mnvault.vault.models import NumberRecord, NumberStatus

DATA_DB = "mnvault.sqlite3"
KEYS_DB = "keystore.sqlite3"
CHECKPOINTS = "audit-checkpoints.jsonl"

__all__ = ["ArchiveProblem", "backup", "init_key"]


def on_sqlite() -> bool:
    """Whether mnvault backs this installation up itself (PostgreSQL uses its own tools)."""
    return all(settings.DATABASES[a]["ENGINE"].endswith("sqlite3") for a in ("default", "keys"))


def _sqlite_path(alias: str) -> Path:
    config = settings.DATABASES[alias]
    if not config["ENGINE"].endswith("sqlite3"):
        raise ArchiveProblem(
            _(
                "The %(alias)s database is on PostgreSQL: mnvault backup covers SQLite "
                "installations only for now. Back PostgreSQL up with pg_dump or pgBackRest "
                "(issue 13, item 7)."
            )
            % {"alias": alias}
        )
    return Path(config["NAME"])


def recipient_text() -> str:
    if settings.MNVAULT_BACKUP_RECIPIENT:
        return str(settings.MNVAULT_BACKUP_RECIPIENT)
    path = Path(settings.MNVAULT_BACKUP_RECIPIENT_FILE)
    if not path.exists():
        raise ArchiveProblem(_("No backup public key: run `mnvault backup init-key` first (once)."))
    return path.read_text(encoding="ascii").strip()


def recipient_configured() -> bool:
    """Whether backups were set up (``backup init-key`` run, or a public key given)."""
    return (
        bool(settings.MNVAULT_BACKUP_RECIPIENT)
        or Path(settings.MNVAULT_BACKUP_RECIPIENT_FILE).exists()
    )


def init_key(*, replace: bool = False) -> tuple[str, str]:
    """A new age key pair: the public half stored, the private half returned to be shown once
    and never written by mnvault. Refuses to replace a stored key unless asked: backups made
    to the old one would still need the old private key."""
    path = Path(settings.MNVAULT_BACKUP_RECIPIENT_FILE)
    if path.exists() and not replace:
        raise ArchiveProblem(
            _(
                "A backup public key exists already (%(path)s). Use --replace to make a new "
                "pair; keep the old private key for the backups made so far."
            )
            % {"path": path}
        )
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    paths.write_private_file(path, (recipient + "\n").encode("ascii"))
    return str(identity), recipient


def _snapshot(path: Path) -> bytearray:
    """A consistent image of a live SQLite database, in memory: ``serialize`` copies every
    page within one read transaction, so a running server may keep writing. Two images at
    most are held (SQLite's and Python's copy); the backup API into a ``:memory:`` database
    first held three (810 MB for 238 MB at 100,000 people, bench/backup.py). But where the
    backup API reports a page it cannot read, ``serialize`` leaves zeros: hence ``_check``."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        image = bytearray(source.serialize())
    finally:
        source.close()
    # Header bytes 18 and 19 say "WAL" (2) as copied from the live file; an image in memory
    # and a restored file without its -wal beside it open only as a rollback-journal file (1).
    # mnvault's connections switch it back to WAL when they open it.
    if image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"
    _check(image, path)
    return image


def _check(image: bytearray, path: Path) -> None:
    """SQLite's quick check of the image (every b-tree, overflow and freelist page walked:
    a page of zeros does not pass), about 0.5 s for 238 MB."""
    memory = sqlite3.connect(":memory:")
    try:
        memory.deserialize(image)
        found = memory.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError:
        found = []
    finally:
        memory.close()
    if found != [("ok",)]:
        raise ArchiveProblem(
            _(
                "The snapshot of %(name)s does not pass SQLite's check: no backup can be made "
                "of it. Check the database (sqlite3 %(name)s 'PRAGMA integrity_check')."
            )
            % {"name": path}
        )


def _head_of(image: bytes | bytearray) -> int:
    memory = sqlite3.connect(":memory:")
    try:
        memory.deserialize(image)
        row = memory.execute(f"SELECT MAX(seq) FROM {AuditEntry._meta.db_table}").fetchone()  # noqa: S608 - a table name of ours
        return int(row[0] or 0)
    finally:
        memory.close()


def _checkpoints_up_to(head: int) -> bytes:
    """The checkpoint file up to its last line the snapshot's log reaches (a checkpoint at or
    below ``head``, or a restore line whose entry is): read after the snapshot, so every
    checkpoint the snapshot's database records is in it; the lines after it are dropped, or
    the restored log would be shorter than its own checkpoint file says. Lines before it stay
    even past ``head``: those are of entries lost in an earlier restore, and its restore line
    names the line it follows (``audit.restores``)."""
    path = checkpoint_file()
    if not path.exists():
        return b""
    lines = [x for x in path.read_bytes().splitlines(keepends=True) if x.endswith(b"\n")]
    reached = [i for i, line in enumerate(lines) if _reach(line) is not None]
    kept = [i for i in reached if (_reach(lines[i]) or 0) <= head]
    end = kept[-1] + 1 if kept else 0
    return b"".join(lines[:end])


def _reach(line: bytes) -> int | None:
    """The entry a line of the checkpoint file speaks of; None for a line that is neither a
    checkpoint nor a restore line (a line torn by a crash is left out before)."""
    try:
        values = json.loads(line)
        if values.get("kind") == RESTORE_KIND:
            return int(values["restore_entry_seq"])
        return int(values["seq"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class Written:
    data: Path
    keys: Path
    checkpoints: Path
    head: int


def backup(*, to: Path, actor: Actor) -> Written:
    """Data first, then the key store: a disposal in between is then in the key store's
    journal, which the restore re-applies."""
    data_path, keys_path = _sqlite_path("default"), _sqlite_path("keys")
    recipient = recipient_from(recipient_text())
    taken = datetime.now(UTC)
    stamp = taken.strftime("%Y%m%dT%H%M%SZ")
    to.mkdir(parents=True, exist_ok=True, mode=0o700)
    image = _snapshot(data_path)
    head = _head_of(image)
    checkpoints = _checkpoints_up_to(head)
    manifest = {"format": "mnvault-backup", "version": 1, "taken_at": taken.isoformat()}
    written = Written(
        data=to / f"mnvault-data-{stamp}.tar.gz.age",
        keys=to / f"mnvault-keys-{stamp}.tar.gz.age",
        checkpoints=to / f"mnvault-checkpoints-{stamp}.jsonl",
        head=head,
    )
    write_archive(
        {**manifest, "kind": "data", "head": head},
        {DATA_DB: image, CHECKPOINTS: checkpoints},
        recipient,
        written.data,
    )
    del image
    journal = disposal.journal_file()
    write_archive(
        {**manifest, "kind": "keys"},
        {
            KEYS_DB: _snapshot(keys_path),
            disposal.JOURNAL_FILE: journal.read_bytes() if journal.exists() else b"",
        },
        recipient,
        written.keys,
    )
    paths.write_private_file(written.checkpoints, checkpoints)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.BACKUP_CREATE,
            detail={
                "taken_at": taken.isoformat(),
                "head": head,
                "data": written.data.name,
                "keys": written.keys.name,
            },
        )
    write_checkpoint()
    return written


# --- restore ---------------------------------------------------------------------------------


def refuse_non_empty(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise ArchiveProblem(
            _(
                "The data directory %(path)s is not empty: restore only into an empty (or new) "
                "directory, so that nothing of another installation is mixed in."
            )
            % {"path": directory}
        )


def unpack(archive: Path, identity: Any, keys_archive: Path | None) -> tuple[Opened, Opened | None]:
    """Both archives opened in memory before anything is written."""
    data = open_archive(archive, identity, kind="data")
    keys = open_archive(keys_archive, identity, kind="keys") if keys_archive else None
    return data, keys


def install(data: Opened, keys: Opened | None) -> None:
    """The databases into the (empty) data directory; the checkpoint copy where the checkpoint
    file belongs unless one is there already (on other storage, kept by the operator)."""
    data_path, keys_path = _sqlite_path("default"), _sqlite_path("keys")
    paths.write_private_file(data_path, data.members[DATA_DB])
    if keys is not None:
        paths.write_private_file(keys_path, keys.members[KEYS_DB])
    target = checkpoint_file()
    if not target.exists() and data.members.get(CHECKPOINTS):
        paths.write_private_file(target, data.members[CHECKPOINTS])


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
    """The signed restore entry and restore line (``audit.restores``): ``audit verify`` then
    accepts a checkpoint file that ran past the restored head, through them alone. The
    restore line goes to the witness file too, so the witness goes on from the new head."""
    _entry, mark = restores.record_restore(
        head=int(data.manifest.get("head", 0)),
        actor=actor,
        detail={"backup_of": data.manifest.get("taken_at", ""), "reapplied_people": reapplied},
    )
    witness.witness_restore(mark)
