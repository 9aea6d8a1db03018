"""Backup (issue 13, item 1): online snapshots (every page of a SQLite file in one read
transaction, or pg_dump on PostgreSQL: ``backup.postgres``) encrypted to a public key the
server holds without its private half. The restore is ``backup.restore``."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyrage
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import RESTORE_KIND, checkpoint_file, write_checkpoint
from mnvault.audit.models import AuditEntry
from mnvault.backup import postgres
from mnvault.backup.archive import (
    ArchiveProblem,
    recipient_from,
    write_archive,
)
from mnvault.vault import disposal

DATA_DB = "mnvault.sqlite3"
KEYS_DB = "keystore.sqlite3"
# The same databases as pg_dump's custom format, in the archives of a PostgreSQL installation.
DATA_DUMP = "mnvault.pgdump"
KEYS_DUMP = "keystore.pgdump"
CHECKPOINTS = "audit-checkpoints.jsonl"
MEMBERS = {"default": (DATA_DB, DATA_DUMP), "keys": (KEYS_DB, KEYS_DUMP)}

__all__ = ["ArchiveProblem", "backup", "init_key"]


def sqlite_path(alias: str) -> Path:
    return Path(settings.DATABASES[alias]["NAME"])


def member_of(alias: str) -> str:
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
    return _snapshot(sqlite_path(alias))


def _take_with_head(alias: str) -> tuple[bytes | bytearray, int]:
    if postgres.is_postgres(alias):
        return postgres.dump_with_head(alias)
    image = _snapshot(sqlite_path(alias))
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
        {member_of("default"): image, CHECKPOINTS: checkpoints},
        recipient,
        written.data,
    )
    del image
    journal = disposal.journal_file()
    write_archive(
        {**manifest, "kind": "keys"},
        {
            member_of("keys"): _take("keys"),
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
