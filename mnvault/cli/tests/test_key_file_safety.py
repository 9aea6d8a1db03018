"""The key file is never lost by accident (issue 13, item 5): ``mnvault init`` makes no new
key file beside databases that hold keys, and ``mnvault keys export`` writes the protected
copy the offline backup needs."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from mnvault.cli.tests.runner import ENGLISH, PASSPHRASE, Installation
from mnvault.cli.tests.test_postgres_privileges import _admin
from mnvault.vault.errors import KeyUnavailable
from mnvault.vault.keys import KeyFileProvider

EXPORT = {"MNVAULT_EXPORT_PASSPHRASE": PASSPHRASE}
REFUSED_EN = "restore the key file from its backup"
REFUSED_JA = "鍵ファイルをバックアップから"


def _snapshot(directory: Path) -> dict[str, str]:
    """Every file of the data directory and the hash of its bytes."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("lost", [None, "mnvault.sqlite3", "keystore.sqlite3"])
def test_init_without_the_key_file_beside_stored_keys_refuses_and_changes_nothing(with_demo, lost):
    """Whichever database is left (both, only the key store, only the numbers), a new key
    file would orphan what it holds."""
    installation, _demo = with_demo
    installation.key_file.unlink()
    if lost:
        (installation.data / lost).unlink()
    before = _snapshot(installation.data)
    refused = installation.run("init", expect=1, env=ENGLISH)
    assert REFUSED_EN in refused.err.lower(), refused.describe()
    assert str(installation.key_file) in refused.err
    assert "Traceback" not in refused.err + refused.out
    assert _snapshot(installation.data) == before
    assert not installation.key_file.exists()
    in_japanese = installation.run("init", expect=1)
    assert REFUSED_JA in in_japanese.err, in_japanese.describe()
    assert _snapshot(installation.data) == before


def test_init_with_the_key_file_restored_from_an_export_goes_on(with_demo, tmp_path):
    installation, _demo = with_demo
    copy = tmp_path / "offline" / "mnvault-key.backup"
    copy.parent.mkdir()
    installation.run("keys", "export", "--to", str(copy), env=EXPORT)
    installation.key_file.unlink()
    installation.run("init", expect=1)
    shutil.copy(copy, installation.key_file)
    restored = {"MNVAULT_KEY_PASSPHRASE": PASSPHRASE, **ENGLISH}
    assert "exists, kept as it is" in installation.run("init", env=restored).out
    installation.run("audit", "verify", env=restored)  # signed with the restored key


def test_keys_export_writes_a_protected_copy_that_opens_as_the_key_file(with_demo, tmp_path):
    installation, _demo = with_demo
    copy = tmp_path / "copy.key"
    done = installation.run("keys", "export", "--to", str(copy), env={**EXPORT, **ENGLISH})
    assert str(copy) in done.out and "MNVAULT_KEY_PASSPHRASE" in done.out
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert KeyFileProvider.is_protected(copy)
    original = KeyFileProvider(installation.key_file).load()
    assert KeyFileProvider(copy, PASSPHRASE).load() == original
    assert original.index_secret.hex() not in copy.read_text()  # nothing in clear
    with pytest.raises(KeyUnavailable, match="パスフレーズ"):
        KeyFileProvider(copy, "not the passphrase at all").load()
    with installation.connect("mnvault.sqlite3") as db:
        (detail,) = db.execute(
            "SELECT detail FROM audit_auditentry WHERE action = 'keys.export'"
        ).fetchone()
    assert str(copy) in detail and "k1" in detail


def test_keys_export_never_overwrites_and_needs_a_long_passphrase(initialised, tmp_path):
    existing = tmp_path / "existing.key"
    existing.write_text("something else")
    refused = initialised.run("keys", "export", "--to", str(existing), expect=1, env=EXPORT)
    assert "existing.key" in refused.err and "Traceback" not in refused.err
    assert existing.read_text() == "something else"
    short = initialised.run(
        "keys",
        "export",
        "--to",
        str(tmp_path / "new.key"),
        expect=None,
        env={"MNVAULT_EXPORT_PASSPHRASE": "short"},
    )
    assert short.returncode != 0 and not (tmp_path / "new.key").exists()
    nowhere = initialised.run(
        "keys", "export", "--to", str(tmp_path / "no" / "such" / "dir.key"), expect=1, env=EXPORT
    )
    assert "Traceback" not in nowhere.err and "dir.key" in nowhere.err, nowhere.describe()
    no_terminal = initialised.run("keys", "export", "--to", str(tmp_path / "new.key"), expect=1)
    assert "MNVAULT_EXPORT_PASSPHRASE" in no_terminal.err
    with sqlite3.connect(initialised.data / "mnvault.sqlite3") as db:
        count = db.execute("SELECT count(*) FROM audit_auditentry WHERE action = 'keys.export'")
        assert count.fetchone() == (0,)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new database (its key store beside it is made by init), dropped afterwards."""
    name = f"mnvault_keysafety_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        host, port, user = conn.info.host, conn.info.port, conn.info.user
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgres://{user}@{host}:{port}/{name}"
    finally:
        with _admin() as conn:
            for db in (name, f"{name}_keys"):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
                )


ROWS_HASH = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"


def _digest(url: str) -> dict[str, str]:
    """Every table of a database and a hash of all its rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: _one(conn.execute(sql.SQL(ROWS_HASH).format(sql.Identifier(table))))
            for table in tables
        }


def _one(cursor) -> str:
    row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_init_on_postgresql_without_the_key_file_refuses_and_changes_nothing(
    fresh: Installation, postgres_database
):
    env = {**ENGLISH, "DATABASE_URL": postgres_database}
    fresh.run("init", env=env)
    fresh.run("demo", "--people", "3", "--seed", "1", env=env)
    fresh.key_file.unlink()
    before = (_digest(postgres_database), _digest(postgres_database + "_keys"))
    files = sorted(os.listdir(fresh.data))
    refused = fresh.run("init", expect=1, env=env)
    assert REFUSED_EN in refused.err.lower(), refused.describe()
    assert "vault_datakey" in refused.err and "vault_numberrecord" in refused.err
    assert (_digest(postgres_database), _digest(postgres_database + "_keys")) == before
    assert sorted(os.listdir(fresh.data)) == files and not fresh.key_file.exists()


def test_init_with_the_data_database_out_of_reach_creates_no_key_file(fresh: Installation):
    """Whether it holds numbers cannot be checked, so no key is made that could orphan them."""
    with _admin() as conn:
        host, port, user = conn.info.host, conn.info.port, conn.info.user
    url = f"postgres://{user}@{host}:{port}/mnvault_no_such_database_{uuid.uuid4().hex[:8]}"
    refused = fresh.run("init", expect=1, env={**ENGLISH, "DATABASE_URL": url})
    assert "no key file was created" in refused.err, refused.describe()
    assert not fresh.key_file.exists()
