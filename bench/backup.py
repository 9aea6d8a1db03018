"""How long ``mnvault backup`` and ``mnvault restore`` take for N people (default 100,000).

Issue 13 aims at backing up and restoring an installation of 100,000 people within 45 s
together on SQLite. Each size (N/10 and N) runs in a fresh installation and a fresh process
(``--worker``):

- scene (not timed): N employees (codes E000001…), each with a number stored through
  ``vault.bulk.BulkStore`` (the demo's and the import's path) with the three purposes
  notified; an audit log of ``ENTRIES_PER_PERSON`` entries a person (reveals, refusals,
  stores, imports, role grants), built like ``audit_verify.py`` does with each entry's hash
  and MAC and a signed checkpoint; then ``mnvault backup init-key``, whose private key (shown
  once) is kept in the bench's temporary directory.
- backup: the real ``mnvault backup --to DIR`` as a process (``_cli.py``): both snapshots,
  tar + gzip, age encryption, the checkpoint copy, its audit entry and checkpoint, the
  schedule's record.
- restore: the real ``mnvault restore DATA --keys KEYS --private-key FILE --key-file KEYFILE``
  into a new, empty data directory: both archives decrypted and unpacked, the files written,
  the migrations checked, the key file unlocked, the journal re-applied (empty here), the
  signed restore entry.
- check (timed on its own, not part of the total): ``mnvault audit verify`` in the restored
  installation, and with sqlite3: the same count of number records, data keys and audit
  entries as the source.
- baseline: the comparable minimum with sqlite3 and gzip, see ``baseline``.

Peak memory of the commands is the process's own ``VmHWM`` (``_cli.py``); of the baseline,
its phase's (``_phase.Phase``). ``--profile`` runs backup and restore once more under
cProfile in a further fresh installation of N people (stats on stderr).

``--postgres URL`` measures the same on the PostgreSQL server the URL names (its database is
only used to connect): each size gets databases of its own, ``mnvault_bench_<random>`` and its
``_keys`` (the installation's ``DATABASE_URL``), the restore's ``…_restored`` and
``…_restored_keys`` (created empty, as the operator would), the baseline's ``…_baseline`` and
``…_baseline_keys``; all dropped ``WITH (FORCE)`` at the end whatever happens. The backup is
then pg_dump under an exported snapshot (``mnvault/backup/postgres.py``), the restore
pg_restore; the check counts with psycopg; the baseline is ``pg_dump --format=custom`` of both
databases to files and ``pg_restore`` of them into new empty databases (``baseline_pg``).
The PostgreSQL server's own time and memory are in no CPU or peak figure (the wall time has
them); the baseline's peak is its client programs' (``/usr/bin/time``).

    .venv/bin/python bench/backup.py [--people N] [--postgres URL] [--profile [--profile-file F]]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pstats
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import _installation as inst  # beside this script, so on sys.path
import _scene
import psycopg
from _phase import Phase
from audit_verify import build_chain
from psycopg import sql

ENTRIES_PER_PERSON = 3  # audit entries a person in the scene: a few years of use
GZIP_LEVEL = 6  # zlib's own default, for the baseline
DATA_DB, KEYS_DB, CHECKPOINTS = "mnvault.sqlite3", "keystore.sqlite3", "audit-checkpoints.jsonl"
TIME = "/usr/bin/time"  # GNU time: a child's own peak RSS (wait4's carries the parent's)


@dataclass(frozen=True)
class Site:
    """An installation: its data directory and, on PostgreSQL, its database's URL (the key
    store is the database of the same name with ``_keys``, as the settings derive it)."""

    data_dir: Path
    url: str | None = None

    def env(self) -> dict[str, str]:
        return inst.environment(self.data_dir, self.url)


# --- the scene ------------------------------------------------------------------------------


def build_scene(company: Any, handler: Any, people: int, rng: random.Random) -> None:
    """N employees, numbers stored in bulk, the store audited once."""
    from mnvault.people.models import Person, PersonKind
    from mnvault.vault.api import vault_transaction

    store = _scene.bulk_store(handler, company, {PersonKind.EMPLOYEE: list(inst.PURPOSES)})
    seen: set[str] = set()
    with vault_transaction():
        for start in range(0, people, 1000):
            batch = [
                _scene.employee(company, i, rng) for i in range(start, min(start + 1000, people))
            ]
            Person.objects.bulk_create(batch)
            _scene.store_numbers(store, batch, rng, seen)
        _scene.record_scene(company, people, len(seen))


def init_key(env: dict[str, str], workdir: Path) -> Path:
    """``mnvault backup init-key``; its private key (printed once) into a file of the bench's
    temporary directory, as the responsible manager would keep it offline."""
    done = subprocess.run(
        inst.cli("backup", "init-key"),
        env=env,
        cwd=inst.REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    found = re.search(r"^AGE-SECRET-KEY-1\S+$", done.stdout, re.MULTILINE)
    assert found, "backup init-key printed no private key"
    path = workdir / "backup-private-key.txt"
    path.touch(mode=0o600)
    path.write_text(found.group(0) + "\n", encoding="ascii")
    return path


# --- mnvault --------------------------------------------------------------------------------


def backup_and_restore(
    source: Site, target: Site, private_key: Path, workdir: Path, profile: str | None = None
) -> dict[str, Any]:
    """The two commands as processes (under cProfile, stats to ``profile``.backup and
    .restore, when asked); their figures and the archives written."""
    archives = workdir / "backups"
    ran = inst.run_measured(
        profiled(inst.cli("backup", "--to", str(archives)), profile, "backup"),
        source.env(),
        workdir,
    )
    assert ran.returncode == 0, ran.stderr
    data = next(archives.glob("mnvault-data-*.tar.gz.age"))
    keys = next(archives.glob("mnvault-keys-*.tar.gz.age"))
    command = inst.cli(
        "restore",
        str(data),
        "--keys",
        str(keys),
        "--private-key",
        str(private_key),
        "--key-file",
        str(source.data_dir / "mnvault.key"),
    )
    restored = inst.run_measured(profiled(command, profile, "restore"), target.env(), workdir)
    assert restored.returncode == 0, restored.stderr
    return {
        "backup": figures(ran),
        "restore": figures(restored),
        "archive_mb": {"data": mb(data), "keys": mb(keys)},
    }


def profiled(command: list[str], profile: str | None, step: str) -> list[str]:
    if profile is None:
        return command
    return [command[0], "-m", "cProfile", "-o", f"{profile}.{step}", *command[1:]]


def figures(run: inst.Run) -> dict[str, float]:
    return {"wall": run.seconds, "cpu": run.cpu_seconds, "peak": run.max_rss_mb}


def mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def counts(site: Site) -> dict[str, int]:
    """What a restore must carry over, counted with sqlite3 or psycopg."""
    if site.url is not None:
        return counts_pg(site.url)
    data_dir = site.data_dir
    with sqlite3.connect(data_dir / DATA_DB) as data, sqlite3.connect(data_dir / KEYS_DB) as ks:
        one = lambda db, sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "people": one(data, "SELECT count(*) FROM people_person"),
            "numbers": one(data, "SELECT count(*) FROM vault_numberrecord"),
            "keys": one(ks, "SELECT count(*) FROM vault_datakey"),
            "audit_head": one(data, "SELECT max(seq) FROM audit_auditentry"),
        }


def check(source: Site, target: Site, workdir: Path) -> dict[str, Any]:
    """The restored installation holds what the source held at the backup, and its audit log
    verifies (``mnvault audit verify``, timed on its own)."""
    before, after = counts(source), counts(target)
    for name in ("people", "numbers", "keys"):
        assert before[name] == after[name], (name, before[name], after[name])
    # The source's head also has the backup's own entry; the restored one, the restore entry.
    assert after["audit_head"] >= before["audit_head"] - 1, (before, after)
    verified = inst.run_measured(inst.cli("audit", "verify"), target.env(), workdir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return {**after, "verify": figures(verified)}


# --- baseline -------------------------------------------------------------------------------


def baseline(source: Path, workdir: Path) -> dict[str, Any]:
    """The comparable minimum: back up with sqlite3's backup API into a file and gzip it
    (level 6), for the data file and the key store; restore by gunzipping both into a new
    directory.

    Left out: the age encryption and decryption, the tar with its manifest, the in-memory
    images (it goes through files, which mnvault must not: no clear copy on disk), the audit
    head read from the image, the checkpoint file and the disposal journal in the archives,
    the backup's audit entry and signed checkpoint and the schedule's record; on restore, the
    empty-directory check, the key file copy, the migrations check, the key unlock, the
    journal's disposals (none here), the restore entry, restore line and witness."""
    out, back = workdir / "baseline-backup", workdir / "baseline-restored"
    out.mkdir()
    back.mkdir()
    with Phase() as save:
        for name in (DATA_DB, KEYS_DB):
            plain = out / name
            with sqlite3.connect(f"file:{source / name}?mode=ro", uri=True) as src:
                dst = sqlite3.connect(plain)
                src.backup(dst)
                dst.close()
            with plain.open("rb") as raw, gzip.open(f"{plain}.gz", "wb", GZIP_LEVEL) as packed:
                shutil.copyfileobj(raw, packed, 1 << 20)
            plain.unlink()
    with Phase() as load:
        for name in (DATA_DB, KEYS_DB):
            with gzip.open(out / f"{name}.gz", "rb") as packed, (back / name).open("wb") as raw:
                shutil.copyfileobj(packed, raw, 1 << 20)
    with sqlite3.connect(back / DATA_DB) as db:
        numbers = db.execute("SELECT count(*) FROM vault_numberrecord").fetchone()[0]
    return {
        "backup": save.figures(),
        "restore": load.figures(),
        "numbers": numbers,
        "archive_mb": {"data": mb(out / f"{DATA_DB}.gz"), "keys": mb(out / f"{KEYS_DB}.gz")},
    }


# --- PostgreSQL -----------------------------------------------------------------------------


def db_url(server: str, name: str) -> str:
    """The server's URL with database ``name`` in place of the one it names."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def pg_names(base: str) -> list[str]:
    """Every database a size's run may create: the source, the restore's, the baseline's."""
    tails = ("", "_restored", "_baseline")
    return [f"{base}{tail}{keys}" for tail in tails for keys in ("", "_keys")]


def create_databases(server: str, names: list[str]) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_databases(server: str, names: list[str]) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def counts_pg(url: str) -> dict[str, int]:
    def one(database: str, query: str) -> int:
        with psycopg.connect(database) as conn:
            row = conn.execute(query).fetchone()
        return int(row[0] if row else 0)

    keys = db_url(url, urlsplit(url).path.lstrip("/") + "_keys")
    return {
        "people": one(url, "SELECT count(*) FROM people_person"),
        "numbers": one(url, "SELECT count(*) FROM vault_numberrecord"),
        "keys": one(keys, "SELECT count(*) FROM vault_datakey"),
        "audit_head": one(url, "SELECT max(seq) FROM audit_auditentry"),
    }


def database_mb(server: str, names: list[str]) -> list[float]:
    with psycopg.connect(server) as conn:
        return [
            int(conn.execute("SELECT pg_database_size(%s)", [name]).fetchone()[0]) / 1e6  # type: ignore[index]
            for name in names
        ]


class Clients:
    """PostgreSQL's client programs run one after another: wall and CPU time added up, the
    largest peak RSS of one of them (GNU time's, as wait4's would carry this process's)."""

    def __init__(self, workdir: Path) -> None:
        self.peak_file = workdir / "client.peak"
        self.wall = self.cpu = self.peak = 0.0

    def run(self, args: list[str]) -> None:
        started = time.perf_counter()
        child = subprocess.Popen([TIME, "-f", "%M", "-o", str(self.peak_file), *args])
        _pid, status, usage = os.wait4(child.pid, 0)
        self.wall += time.perf_counter() - started
        self.cpu += usage.ru_utime + usage.ru_stime
        assert os.waitstatus_to_exitcode(status) == 0, args[0]
        peak_kb = self.peak_file.read_text().split()[-1]
        self.peak = max(self.peak, int(peak_kb) / 1024)

    def figures(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu, "peak": self.peak}


def baseline_pg(server: str, base: str, workdir: Path) -> dict[str, Any]:
    """The comparable minimum on PostgreSQL: ``pg_dump --format=custom`` (compressed, zlib's
    default level) of both databases into files; restore by ``pg_restore`` of each into a new
    empty database (created before, as for mnvault's restore), in one transaction.

    Left out: the age encryption and decryption, the tar and gzip (the custom format's own
    compression stands in), the in-memory handling (the dumps go through files, which mnvault
    must not: the key store's dump in clear on disk), the snapshot exported to read the audit
    head with the dump, the checkpoint file and disposal journal in the archives, the backup's
    audit entry, checkpoint and schedule record; on restore the empty-database and
    empty-directory checks, the key file copy, the migrations check, the key unlock, the
    journal's disposals (none here), the restore marker, restore entry, line and witness."""
    out = workdir / "baseline-dumps"
    out.mkdir()
    pairs = [(base, f"{base}_baseline"), (f"{base}_keys", f"{base}_baseline_keys")]
    save, load = Clients(workdir), Clients(workdir)
    for source, _target in pairs:
        save.run(["pg_dump", "--format=custom", f"--file={out / source}", db_url(server, source)])
    for source, target in pairs:
        flags = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        load.run(["pg_restore", *flags, f"--dbname={db_url(server, target)}", str(out / source)])
    return {
        "backup": save.figures(),
        "restore": load.figures(),
        "numbers": counts_pg(db_url(server, f"{base}_baseline"))["numbers"],
        "archive_mb": {"data": mb(out / base), "keys": mb(out / f"{base}_keys")},
    }


def dump_sizes(archives: Path, private_key: Path) -> dict[str, float]:
    """The pg_dump members of mnvault's archives (uncompressed, ``--compress=0``), opened with
    mnvault's own reader."""
    from mnvault.backup.archive import identity_from_file, open_archive
    from mnvault.backup.services import DATA_DUMP, KEYS_DUMP

    identity = identity_from_file(private_key)
    sizes = {}
    for kind, member in (("data", DATA_DUMP), ("keys", KEYS_DUMP)):
        archive = next(archives.glob(f"mnvault-{kind}-*.tar.gz.age"))
        sizes[kind] = len(open_archive(archive, identity, kind=kind).members[member]) / 1e6
    return sizes


# --- the worker and the report --------------------------------------------------------------


def prepare(source: Site, people: int, tmp: Path) -> Path:
    """``mnvault init`` and the scene in ``source``; the backup's private key file."""
    inst.init(source.data_dir, source.url)
    inst.use(source.data_dir, source.url)
    from mnvault.accounts.models import User
    from mnvault.audit.models import AuditHead

    company = inst.create_company_with_handler()
    started = time.perf_counter()
    build_scene(company, User.objects.get(username=inst.HANDLER), people, random.Random(1))
    head = AuditHead.objects.get(pk=1).seq
    build_chain(head + ENTRIES_PER_PERSON * people, seed=13)
    private_key = init_key(source.env(), tmp)
    inst.say(f"scene of {people} people: {time.perf_counter() - started:.1f} s")
    from django.db import connections

    connections.close_all()  # the last connection out checkpoints the WAL into the files
    return private_key


def worker(people: int, tmp: Path, profile: bool, profile_file: Path | None) -> None:
    source, target = Site(tmp / "data"), Site(tmp / "restored")
    private_key = prepare(source, people, tmp)
    sizes = {"data": mb(source.data_dir / DATA_DB), "keys": mb(source.data_dir / KEYS_DB)}
    if profile:
        stats_file = str(profile_file or tmp / "profile")
        result = backup_and_restore(source, target, private_key, tmp, stats_file)
        print(json.dumps({"people": people, **result}))
        return
    result = backup_and_restore(source, target, private_key, tmp)
    result["check"] = check(source, target, tmp)
    result["baseline"] = baseline(source.data_dir, tmp)
    result.update(people=people, db_mb=sizes)
    print(json.dumps(result))


def worker_pg(people: int, tmp: Path, server: str, base: str, profile_file: Path | None) -> None:
    """The same on PostgreSQL, in the databases ``pg_names(base)`` (created here, dropped by
    the parent whatever happens)."""
    source = Site(tmp / "data", db_url(server, base))
    target = Site(tmp / "restored", db_url(server, f"{base}_restored"))
    create_databases(server, pg_names(base))
    private_key = prepare(source, people, tmp)
    data_mb, keys_mb = database_mb(server, [base, f"{base}_keys"])
    if profile_file is not None:
        result = backup_and_restore(source, target, private_key, tmp, str(profile_file))
        print(json.dumps({"people": people, **result}))
        return
    result = backup_and_restore(source, target, private_key, tmp)
    result["check"] = check(source, target, tmp)
    result["baseline"] = baseline_pg(server, base, tmp)
    result["dump_mb"] = dump_sizes(tmp / "backups", private_key)
    result.update(people=people, db_mb={"data": data_mb, "keys": keys_mb})
    print(json.dumps(result))


def report(r: dict[str, Any]) -> None:
    n, base, c = r["people"], r["baseline"], r["check"]
    print(f"\n{n} people: {c['numbers']} numbers and {c['keys']} data keys restored, audit log "
          f"of {c['audit_head']} entries verified in {c['verify']['wall']:.2f} s "
          f"(peak {c['verify']['peak']:.1f} MB); databases {r['db_mb']['data']:.1f} MB + "
          f"{r['db_mb']['keys']:.1f} MB")  # fmt: skip
    print(f"  {'':18} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'archives MB':>17}")
    rows = (
        ("backup", r["backup"], r["archive_mb"]),
        ("restore", r["restore"], None),
        ("baseline backup", base["backup"], base["archive_mb"]),
        ("baseline restore", base["restore"], None),
    )
    for name, f, size in rows:
        sizes = f"{size['data']:7.1f} + {size['keys']:7.1f}" if size else ""
        print(f"  {name:18} {f['wall']:7.2f} {f['cpu']:7.2f} {f['peak']:8.1f} {sizes:>17}")
    total = r["backup"]["wall"] + r["restore"]["wall"]
    cpu = r["backup"]["cpu"] + r["restore"]["cpu"]
    base_total = base["backup"]["wall"] + base["restore"]["wall"]
    base_cpu = base["backup"]["cpu"] + base["restore"]["cpu"]
    print(f"  backup + restore: {total:.2f} s wall, {cpu:.2f} s CPU; baseline "
          f"{base_total:.2f} s wall; / baseline {total / base_total:.1f}x wall, "
          f"{cpu / base_cpu:.1f}x CPU")  # fmt: skip
    if "dump_mb" in r:
        d = r["dump_mb"]
        print(f"  pg_dump members in the archives (uncompressed): {d['data']:.1f} + "
              f"{d['keys']:.1f} MB; baseline's archives: its custom-format dumps")  # fmt: skip
    elif n == 100_000:
        print(f"  aim (45 s for 100,000 people): {'met' if total <= 45 else 'MISSED'}")


def print_profiles(stats_file: str) -> None:
    for step in ("backup", "restore"):
        inst.say(f"\n=== cProfile of mnvault {step} ===")
        stats = pstats.Stats(f"{stats_file}.{step}", stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(30)


def run_worker(command: list[str], server: str | None) -> subprocess.CompletedProcess[str]:
    """The worker; on PostgreSQL with databases of its own, dropped whatever happens."""
    if server is None:
        return subprocess.run(command, cwd=inst.REPO, stdout=subprocess.PIPE, text=True, check=True)
    base = f"mnvault_bench_{secrets.token_hex(4)}"
    command = [*command, "--postgres", server, "--database", base]
    try:
        return subprocess.run(command, cwd=inst.REPO, stdout=subprocess.PIPE, text=True, check=True)
    finally:
        drop_databases(server, pg_names(base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-file", type=Path, help="keep the cProfile stats (F.backup…)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="measure on this PostgreSQL server (postgres://root@127.0.0.1:5432/postgres); "
        "the bench creates and drops databases mnvault_bench_<random>…",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker and args.postgres:
        profile_file = args.profile_file if args.profile else None
        worker_pg(args.people, args.worker, args.postgres, args.database, profile_file)
        return
    if args.worker:
        worker(args.people, args.worker, args.profile, args.profile_file)
        return
    print(f"load average {os.getloadavg()[0]:.2f}")
    runs = [(n, False) for n in (args.people // 10, args.people)]
    if args.profile:
        runs.append((args.people, True))
    for n, profile in runs:
        with inst.scratch("backup") as tmp:
            inst.say(f"{n} people{' (profiled)' if profile else ''} ...")
            command = [inst.PYTHON, __file__, "--people", str(n), "--worker", tmp]
            stats_file = str((args.profile_file or Path(tmp) / "profile").resolve())
            if profile:
                command += ["--profile", "--profile-file", stats_file]
            done = run_worker(command, args.postgres)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if profile:
                print(f"\nprofiled run: backup {result['backup']['wall']:.2f} s, restore "
                      f"{result['restore']['wall']:.2f} s under cProfile")  # fmt: skip
                print_profiles(stats_file)
            else:
                report(result)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
