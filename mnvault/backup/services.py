"""Backup and restore (issue 13): online snapshots (SQLite's backup API, or pg_dump on
PostgreSQL: ``backup.postgres``) encrypted to a public key the server holds without its private
half, and a restore that re-applies every disposal the journal records, so a number disposed
after the backup stays undecryptable."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit import log as audit
from mnvault.audit import restores, witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import RESTORE_KIND, checkpoint_file, write_checkpoint
from mnvault.audit.models import AuditEntry
from mnvault.backup import postgres
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
# The same databases as pg_dump's custom format, in the archives of a PostgreSQL installation.
DATA_DUMP = "mnvault.pgdump"
KEYS_DUMP = "keystore.pgdump"
CHECKPOINTS = "audit-checkpoints.jsonl"
MEMBERS = {"default": (DATA_DB, DATA_DUMP), "keys": (KEYS_DB, KEYS_DUMP)}

__all__ = ["ArchiveProblem", "backup", "init_key"]


def _sqlite_path(alias: str) -> Path:
    return Path(settings.DATABASES[alias]["NAME"])


def _member(alias: str) -> str:
    """The archive member that holds ``alias``: a SQLite image or a pg_dump."""
    sqlite_name, dump_name = MEMBERS[alias]
    return dump_name if postgres.is_postgres(alias) else sqlite_name


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


def _take(alias: str) -> bytes | bytearray:
    if postgres.is_postgres(alias):
        return postgres.dump(alias)
    return _snapshot(_sqlite_path(alias))


def _take_with_head(alias: str) -> tuple[bytes | bytearray, int]:
    if postgres.is_postgres(alias):
        return postgres.dump_with_head(alias)
    image = _snapshot(_sqlite_path(alias))
    return image, _head_of(image)


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
    recipient = recipient_from(recipient_text())
    taken = datetime.now(UTC)
    stamp = taken.strftime("%Y%m%dT%H%M%SZ")
    to.mkdir(parents=True, exist_ok=True, mode=0o700)
    image, head = _take_with_head("default")
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
        {_member("default"): image, CHECKPOINTS: checkpoints},
        recipient,
        written.data,
    )
    del image
    journal = disposal.journal_file()
    write_archive(
        {**manifest, "kind": "keys"},
        {
            _member("keys"): _take("keys"),
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
        elif _sqlite_path(alias).exists():  # a database file kept outside the data directory
            raise ArchiveProblem(
                _("%(path)s exists: restore only where no database is yet.")
                % {"path": _sqlite_path(alias)}
            )


def unpack(archive: Path, identity: Any, keys_archive: Path | None) -> tuple[Opened, Opened | None]:
    """Both archives opened in memory, and found to fit this installation's databases, before
    anything is written."""
    data = open_archive(archive, identity, kind="data")
    keys = open_archive(keys_archive, identity, kind="keys") if keys_archive else None
    for alias, opened in (("default", data), ("keys", keys)):
        if opened is not None and _member(alias) not in opened.members:
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
    """What a restore has written so far, to be taken back if it fails before its restore
    entry: the databases it filled, and files it made outside the data directory (the key
    file, the checkpoint file) that were not there when it began."""

    databases: list[str] = field(default_factory=list)
    new_files: list[Path] = field(default_factory=list)

    def note_new(self, path: Path) -> None:
        if not path.exists():
            self.new_files.append(path)


def install(data: Opened, keys: Opened | None, placed: Placed) -> None:
    """The databases into the (empty) data directory or (empty) PostgreSQL databases, each
    noted in ``placed`` once written. Then the checkpoint copy where the checkpoint file
    belongs unless one is there already (on other storage, kept by the operator)."""
    for alias, opened in (("default", data), ("keys", keys)):
        if opened is not None:
            _install_one(alias, opened.members[_member(alias)])
            placed.databases.append(alias)
    target = checkpoint_file()
    if not target.exists() and data.members.get(CHECKPOINTS):
        placed.note_new(target)
        paths.write_private_file(target, data.members[CHECKPOINTS])


def take_back(placed: Placed, data_dir: Path) -> None:
    """Everything a failed restore wrote: the data directory and the databases were empty
    when it began (``refuse_non_empty``), so they are emptied again, and the files it made
    elsewhere are removed. Not for a failure after the restore entry was written: that one is
    finished instead (``audit.restores.finish_pending``)."""
    connections.close_all()
    for alias in placed.databases:
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
        paths.write_private_file(_sqlite_path(alias), image)


def _uninstall_one(alias: str) -> None:
    """Only ever for a database this restore found empty (or absent) and then filled."""
    if postgres.is_postgres(alias):
        postgres.empty(alias)
        return
    path = _sqlite_path(alias)
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
    """The signed restore entry and restore line (``audit.restores``): ``audit verify`` then
    accepts a checkpoint file that ran past the restored head, through them alone. The
    restore line goes to the witness file too, so the witness goes on from the new head."""
    _entry, mark = restores.record_restore(
        head=int(data.manifest.get("head", 0)),
        actor=actor,
        detail={"backup_of": data.manifest.get("taken_at", ""), "reapplied_people": reapplied},
    )
    witness.witness_restore(mark)


def current_head() -> int:
    """The last entry of the audit log as the restored database holds it."""
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def record_external_restore(head: int, *, reapplied: int, actor: Actor) -> None:
    """The restore entry and line after the databases were restored with other tools
    (pg_restore, pgBackRest): the restored point is the time of the log's last entry."""
    at = AuditEntry.objects.filter(seq=head).values_list("created_at", flat=True).first()
    _entry, mark = restores.record_restore(
        head=head,
        actor=actor,
        detail={
            "backup_of": at.isoformat() if at else "",
            "reapplied_people": reapplied,
            "restored_by": "external",
        },
    )
    witness.witness_restore(mark)
