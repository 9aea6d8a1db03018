"""The in-memory snapshot of a SQLite database a backup is made of: the live file's rows, as
a rollback-journal image that opens on its own, and refused when a page of it is unreadable
(``serialize`` leaves zeros where the backup API would have failed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.utils import translation

from mnvault.backup.archive import ArchiveProblem
from mnvault.backup.services import _snapshot

PAGE = 4096


def live_database(path: Path, rows: int = 300) -> Path:
    """A WAL database with a reader kept open, so some rows are still in the -wal file."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    db.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 200,)] * rows)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.executemany("INSERT INTO t (body) VALUES (?)", [("y" * 200,)] * rows)
    db.commit()
    db.close()
    return path


def opened(image: bytearray) -> sqlite3.Connection:
    memory = sqlite3.connect(":memory:")
    memory.deserialize(image)
    return memory


def test_a_snapshot_holds_every_committed_row_and_opens_without_its_wal(tmp_path):
    path = live_database(tmp_path / "live.sqlite3")
    keep = sqlite3.connect(path)  # the -wal stays beside the file while the snapshot is taken
    keep.execute("SELECT 1").fetchall()
    image = _snapshot(path)
    keep.close()
    assert image[18:20] == b"\x01\x01"
    assert opened(image).execute("SELECT count(*), count(DISTINCT body) FROM t").fetchone() == (
        600,
        2,
    )


def test_a_snapshot_with_a_page_of_zeros_is_refused(tmp_path):
    path = live_database(tmp_path / "live.sqlite3")
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    with path.open("r+b") as raw:
        raw.seek(5 * PAGE)  # a leaf of the table's b-tree
        raw.write(bytes(PAGE))
    with translation.override("en"), pytest.raises(ArchiveProblem, match="SQLite's check"):
        _snapshot(path)
