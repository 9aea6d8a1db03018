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

    .venv/bin/python bench/backup.py [--people N] [--profile [--profile-file F]]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pstats
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import _installation as inst  # beside this script, so on sys.path
from _phase import Phase
from audit_verify import build_chain
from disposal import FAMILY, GIVEN

ENTRIES_PER_PERSON = 3  # audit entries a person in the scene: a few years of use
GZIP_LEVEL = 6  # zlib's own default, for the baseline
DATA_DB, KEYS_DB, CHECKPOINTS = "mnvault.sqlite3", "keystore.sqlite3", "audit-checkpoints.jsonl"


# --- the scene ------------------------------------------------------------------------------


def build_scene(company: Any, handler: Any, people: int, rng: random.Random) -> None:
    """N employees, numbers stored in bulk, the store audited once."""
    from django.utils import timezone

    from mnvault.audit import log as audit
    from mnvault.audit.actions import Action
    from mnvault.audit.actors import Actor
    from mnvault.domain.numbers import generate_fake
    from mnvault.people.models import Person, PersonKind
    from mnvault.vault.api import vault_transaction
    from mnvault.vault.bulk import BulkStore
    from mnvault.vault.models import VerificationChannel
    from mnvault.vault.services import Verification

    store = BulkStore(
        actor=Actor.of(handler),
        company=company,
        purposes={PersonKind.EMPLOYEE: list(inst.PURPOSES)},
        verification=Verification(
            channel=VerificationChannel.IN_PERSON, document_kinds=["my_number_card"]
        ),
    )
    seen: set[str] = set()
    with vault_transaction():
        for start in range(0, people, 1000):
            batch = []
            for i in range(start, min(start + 1000, people)):
                family, given = FAMILY[i % 8], GIVEN[(i // 8) % 8]
                batch.append(
                    Person(
                        company=company,
                        kind=PersonKind.EMPLOYEE,
                        family_name=family[0],
                        given_name=given[0],
                        family_name_kana=family[1],
                        given_name_kana=given[1],
                        birth_date=date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 40)),
                        employee_code=f"E{i + 1:06d}",
                        hire_date=date(2015, 4, 1),
                    )
                )
            Person.objects.bulk_create(batch)
            items = []
            for person in batch:
                number = generate_fake(rng)
                while number in seen:
                    number = generate_fake(rng)
                seen.add(number)
                items.append((person, number, store.index(number)))
            store.store(items, notified_on=timezone.localdate())
        audit.record(
            actor=Actor.system("bench"),
            action=Action.DEMO_CREATE,
            company_id=company.pk,
            detail={"people": people, "numbers": len(seen)},
        )


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
    source: Path, target: Path, private_key: Path, workdir: Path, profile: str | None = None
) -> dict[str, Any]:
    """The two commands as processes (under cProfile, stats to ``profile``.backup and
    .restore, when asked); their figures and the archives written."""
    archives = workdir / "backups"
    ran = inst.run_measured(
        profiled(inst.cli("backup", "--to", str(archives)), profile, "backup"),
        inst.environment(source),
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
        str(source / "mnvault.key"),
    )
    restored = inst.run_measured(
        profiled(command, profile, "restore"), inst.environment(target), workdir
    )
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


def counts(data_dir: Path) -> dict[str, int]:
    """What a restore must carry over, counted with sqlite3."""
    with sqlite3.connect(data_dir / DATA_DB) as data, sqlite3.connect(data_dir / KEYS_DB) as ks:
        one = lambda db, sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "people": one(data, "SELECT count(*) FROM people_person"),
            "numbers": one(data, "SELECT count(*) FROM vault_numberrecord"),
            "keys": one(ks, "SELECT count(*) FROM vault_datakey"),
            "audit_head": one(data, "SELECT max(seq) FROM audit_auditentry"),
        }


def check(source: Path, target: Path, workdir: Path) -> dict[str, Any]:
    """The restored installation holds what the source held at the backup, and its audit log
    verifies (``mnvault audit verify``, timed on its own)."""
    before, after = counts(source), counts(target)
    for name in ("people", "numbers", "keys"):
        assert before[name] == after[name], (name, before[name], after[name])
    # The source's head also has the backup's own entry; the restored one, the restore entry.
    assert after["audit_head"] >= before["audit_head"] - 1, (before, after)
    verified = inst.run_measured(inst.cli("audit", "verify"), inst.environment(target), workdir)
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


# --- the worker and the report --------------------------------------------------------------


def worker(people: int, tmp: Path, profile: bool, profile_file: Path | None) -> None:
    source, target = tmp / "data", tmp / "restored"
    inst.init(source)
    inst.use(source)
    from mnvault.accounts.models import User
    from mnvault.audit.models import AuditHead

    company = inst.create_company_with_handler()
    started = time.perf_counter()
    build_scene(company, User.objects.get(username=inst.HANDLER), people, random.Random(1))
    head = AuditHead.objects.get(pk=1).seq
    build_chain(head + ENTRIES_PER_PERSON * people, seed=13)
    private_key = init_key(inst.environment(source), tmp)
    inst.say(f"scene of {people} people: {time.perf_counter() - started:.1f} s")
    from django.db import connections

    connections.close_all()  # the last connection out checkpoints the WAL into the files
    sizes = {"data": mb(source / DATA_DB), "keys": mb(source / KEYS_DB)}
    if profile:
        stats_file = str(profile_file or tmp / "profile")
        result = backup_and_restore(source, target, private_key, tmp, stats_file)
        print(json.dumps({"people": people, **result}))
        return
    result = backup_and_restore(source, target, private_key, tmp)
    result["check"] = check(source, target, tmp)
    result["baseline"] = baseline(source, tmp)
    result.update(people=people, db_mb=sizes)
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
    if n == 100_000:
        print(f"  aim (45 s for 100,000 people): {'met' if total <= 45 else 'MISSED'}")


def print_profiles(stats_file: str) -> None:
    for step in ("backup", "restore"):
        inst.say(f"\n=== cProfile of mnvault {step} ===")
        stats = pstats.Stats(f"{stats_file}.{step}", stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-file", type=Path, help="keep the cProfile stats (F.backup…)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
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
            done = subprocess.run(
                command, cwd=inst.REPO, stdout=subprocess.PIPE, text=True, check=True
            )
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
