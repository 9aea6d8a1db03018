"""Backup and restore of an installation on PostgreSQL, through the real command line (issue
13, items 1 and 7): ``pg_dump`` into the encrypted archive and ``pg_restore`` back into new,
empty databases; and ``restore --reapply-disposals`` after the databases were restored with
the firm's own tools. These run when the suite runs on PostgreSQL (``DATABASE_URL``), each
installation in databases of its own on that server, dropped afterwards."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from mnvault.backup.tests.test_backup_restore import (
    DIGESTS,
    DISPOSE,
    NUMBERS,
    RESTORE_ENTRY,
    forged_archive,
    key_pair,
    take_backup,
)
from mnvault.cli.tests.runner import DEMO_PEOPLE, ENGLISH, Demo, Installation, parse_demo

SERVER = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not SERVER.startswith("postgres"), reason="the suite runs on SQLite (no DATABASE_URL)"
)


def _server_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


def _admin(statement: sql.Composed) -> None:
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


def _create(name: str, template: str | None = None) -> None:
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    _admin(query)


def _drop(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Databases:
    """Pairs of databases (data and ``_keys``) made for one test or session, then dropped."""

    def __init__(self) -> None:
        self.prefix = f"mnvault_bk_{os.getpid()}_{secrets.token_hex(3)}"
        self.made: list[str] = []

    def pair(self, label: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{label}"
        for suffix in ("", "_keys"):
            _create(name + suffix, template + suffix if template else None)
            self.made.append(name + suffix)
        return name

    def drop_all(self) -> None:
        for name in reversed(self.made):
            _drop(name)


def on(root: Path, database: str, **extra: str) -> Installation:
    root.mkdir(parents=True, exist_ok=True)
    return Installation(root, {"DATABASE_URL": _server_url(database), **extra})


@pytest.fixture(scope="session")
def _pg_demo_template(tmp_path_factory) -> Iterator[tuple[Installation, str, Demo]]:
    databases = Databases()
    try:
        name = databases.pair("template")
        template = on(tmp_path_factory.mktemp("pg-demo"), name)
        template.run("init")
        demo = parse_demo(template.run("demo", "--people", str(DEMO_PEOPLE), "--seed", "1").out)
        yield template, name, demo
    finally:
        databases.drop_all()


@pytest.fixture
def databases() -> Iterator[Databases]:
    made = Databases()
    yield made
    made.drop_all()


@pytest.fixture
def pg_demo(_pg_demo_template, databases, tmp_path) -> tuple[Installation, Demo]:
    """A copy of the demo installation: its databases copied by PostgreSQL (TEMPLATE), its
    data directory (key file, checkpoint file, journal) by a file copy."""
    template, name, demo = _pg_demo_template
    copy = databases.pair("source", template=name)
    inst = on(tmp_path / "source", copy)
    shutil.copytree(template.data, inst.data)
    return inst, demo


def digests(inst: Installation) -> dict[str, str]:
    return json.loads(inst.python(DIGESTS).out)


def restore_args(source: Installation, data: Path, keys: Path, private: Path) -> list[str]:
    return ["restore", str(data), "--keys", str(keys), "--private-key", str(private),
            "--key-file", str(source.key_file)]  # fmt: skip


def test_on_postgresql_it_restores_every_number_and_an_intact_audit_log(
    pg_demo, databases, tmp_path
):
    inst, _demo = pg_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    restored = on(tmp_path / "restored", databases.pair("restored"))
    out = restored.run(*restore_args(inst, data, keys, private), env=ENGLISH).out
    assert "Restored the backup of" in out
    original = digests(inst)
    assert len(original) >= DEMO_PEOPLE and not any(v.startswith("x") for v in original.values())
    assert digests(restored) == original
    assert "OK" in restored.run("audit", "verify", env=ENGLISH).out
    assert json.loads(restored.python(RESTORE_ENTRY).out)["head"] >= 1


def test_on_postgresql_the_archive_holds_no_dump_or_number_in_clear(pg_demo, tmp_path):
    inst, _demo = pg_demo
    key_pair(inst)
    numbers = [n.encode() for n in json.loads(inst.python(NUMBERS).out)]
    assert numbers
    for archive in take_backup(inst, tmp_path / "backups"):
        blob = archive.read_bytes()
        assert blob.startswith(b"age-encryption.org/v1")
        assert b"PGDMP" not in blob and not any(n in blob for n in numbers)


def test_on_postgresql_a_number_disposed_after_the_backup_stays_disposed(
    pg_demo, databases, tmp_path
):
    inst, demo = pg_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    before = digests(inst)
    gone = sorted(before, key=int)[-3:]
    inst.python(DISPOSE, demo.users["responsible_manager"][0], *gone)
    restored = on(tmp_path / "restored", databases.pair("restored"))
    journal = inst.data / "disposal-journal.jsonl"
    args = restore_args(inst, data, keys, private)
    out = restored.run(*args, "--journal", str(journal), env=ENGLISH).out
    assert "3 disposed people re-applied" in out
    after = digests(restored)
    assert {pk for pk, v in after.items() if v != before[pk]} == set(gone)
    assert all(after[pk] == "x:disposed" for pk in gone)
    restored.run("audit", "verify", env=ENGLISH)


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(pg_demo, tmp_path):
    inst, _demo = pg_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    before = digests(inst)
    # A new data directory, but the databases of the installation that is running.
    elsewhere = Installation(tmp_path / "elsewhere", inst.extra_env)
    elsewhere.root.mkdir()
    refused = elsewhere.run(*restore_args(inst, data, keys, private), env=ENGLISH, expect=1)
    assert "database is not empty" in refused.err
    assert not elsewhere.data.exists()
    assert digests(inst) == before


def test_a_sqlite_backup_is_refused_by_an_installation_on_postgresql(
    with_demo, databases, tmp_path
):
    sqlite_inst, _demo = with_demo
    private = key_pair(sqlite_inst)
    data, keys = take_backup(sqlite_inst, tmp_path / "backups")
    target = on(tmp_path / "target", databases.pair("target"))
    refused = target.run(*restore_args(sqlite_inst, data, keys, private), env=ENGLISH, expect=1)
    assert "installation on SQLite" in refused.err
    assert not target.data.exists()


# --- after a restore with the firm's own tools ------------------------------------------------


def pg_tool(program: str, database: str, *args: str, stdin: bytes = b"") -> bytes:
    """pg_dump or pg_restore as a firm's administrator runs them (the dump stays in memory)."""
    url = _server_url(database)
    done = subprocess.run([program, *args, f"--dbname={url}"], input=stdin, capture_output=True,
                          check=True, timeout=120)  # fmt: skip
    return done.stdout


def test_reapply_disposals_after_pg_restore_keeps_disposed_numbers_disposed(
    pg_demo, databases, tmp_path
):
    """The firm restores both databases from dumps taken before a disposal (pg_restore into
    new databases); the journal beside the checkpoint file survives on the server's disk.
    Until ``restore --reapply-disposals`` has run, the checkpoint file runs past the
    restored log and ``audit verify`` fails; afterwards the three are disposed again and the
    log verifies through the signed restore line."""
    inst, demo = pg_demo
    source = inst.extra_env["DATABASE_URL"].rsplit("/", 1)[1]
    dumps = {s: pg_tool("pg_dump", source + s, "--format=custom") for s in ("", "_keys")}
    before = digests(inst)
    gone = sorted(before, key=int)[-3:]
    inst.python(DISPOSE, demo.users["responsible_manager"][0], *gone)
    target = databases.pair("pitr")
    for suffix, dump in dumps.items():
        pg_tool("pg_restore", target + suffix, "--no-owner", stdin=dump)
    restored = Installation(inst.root, {"DATABASE_URL": _server_url(target)})
    assert digests(restored) == before  # the dumps predate the disposal
    restored.run("audit", "verify", env=ENGLISH, expect=1)
    out = restored.run("restore", "--reapply-disposals", env=ENGLISH).out
    assert "3 disposed people re-applied" in out
    after = digests(restored)
    assert {pk for pk, v in after.items() if v != before[pk]} == set(gone)
    assert all(after[pk] == "x:disposed" for pk in gone)
    assert "restored from a backup at entry" in restored.run("audit", "verify", env=ENGLISH).out
    again = restored.run("restore", "--reapply-disposals", env=ENGLISH).out
    assert "0 disposed people re-applied" in again
    restored.run("audit", "verify", env=ENGLISH)


def test_reapply_disposals_takes_no_archive(pg_demo):
    inst, _demo = pg_demo
    refused = inst.run("restore", "x.age", "--reapply-disposals", env=ENGLISH, expect=1)
    assert "takes no archive" in refused.err


def _databases_named(prefix: str) -> list[str]:
    with psycopg.connect(_server_url("postgres")) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"])
        return [row[0] for row in rows]


def test_on_postgresql_the_drill_restores_into_scratch_databases_and_drops_them(pg_demo, tmp_path):
    inst, _demo = pg_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    source = inst.extra_env["DATABASE_URL"].rsplit("/", 1)[1]
    out = inst.run("backup", "verify", str(data), "--keys", str(keys), "--private-key",
                   str(private), env=ENGLISH, timeout=180).out  # fmt: skip
    assert "numbers opened: 20 of 20 sampled" in out
    assert "The restore drill passed" in out
    assert _databases_named(f"{source}_drill_") == []


def test_on_postgresql_a_restore_that_fails_empties_both_databases_again(
    pg_demo, databases, tmp_path
):
    """The key store's dump is damaged: pg_restore fails after the data database was filled.
    The data database is emptied again, and the same databases then take the good backup."""
    inst, _demo = pg_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    damaged = forged_archive(
        inst, tmp_path / "damaged-keys.age", "keys", {"keystore.pgdump": b"PGDMP" + bytes(64)}
    )
    name = databases.pair("restored")
    target = on(tmp_path / "restored", name)
    refused = target.run(*restore_args(inst, data, damaged, private), env=ENGLISH, expect=1)
    assert "pg_restore failed" in refused.err
    assert not target.data.exists() or not any(target.data.iterdir())
    for each in (name, f"{name}_keys"):
        with psycopg.connect(_server_url(each)) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone() == (0,)
    target.run(*restore_args(inst, data, keys, private), env=ENGLISH)
    assert digests(target) == digests(inst)
