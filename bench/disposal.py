"""How long disposing of N people in one batch takes (default 10,000), and how much memory.

Issue 12 aims at disposing of 10,000 people in one batch within 10 s on SQLite, with flat
memory. Each size (N/10 and N) runs in a fresh installation and a fresh process (``--worker``):

- scene (not timed): N employees (codes E000001…) hired 2010-04-01 who left 2015-03-31, so
  every hold has ended, each with a number stored through ``vault.bulk.BulkStore`` (the demo's
  and the import's path) with the withholding purpose notified; a handler and two
  responsible managers, made through the real services.
- queue: ``retention.services.due_list(company)`` (the rules run for everyone with a number).
- propose: ``services.propose`` of everyone in the queue by the handler (the rules again, the
  batch's items with their holds snapshot, one audit entry).
- approve: ``services.approve`` by the second responsible manager, which disposes at once:
  ``vault.disposal.shred_keys`` in a durable key-store transaction, then ``mark_disposed``,
  the collection clean-up and one audit entry per person (``audit.record_many``).
- baseline: the comparable minimum with sqlite3 on copies of the same two database files,
  see ``baseline``.

The result is checked: every number record disposed with the batch's certificate, no data key
left, one shredding entry per person. Peak memory is ``VmHWM``, reset before each phase by
writing 5 to ``/proc/self/clear_refs``. ``--profile`` runs propose and approve once more under
cProfile in a further fresh installation of N people (stats on stderr).

    .venv/bin/python bench/disposal.py [--people N] [--profile [--profile-file F]]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import secrets
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import _installation as inst  # beside this script, so on sys.path
import _scene
from _phase import Phase

HIRED, LEFT = date(2010, 4, 1), date(2015, 3, 31)
SECOND_MANAGER = "bench-manager-2"


# --- the scene ------------------------------------------------------------------------------


def second_manager(company: Any) -> Any:
    """The approver: a responsible manager other than the set-up's, granted by the admin."""
    from mnvault.accounts.models import Role, User
    from mnvault.accounts.services import grant_role

    manager = User.objects.create_user(username=SECOND_MANAGER, password=None)
    admin = User.objects.get(username="bench-admin")
    grant_role(acting_user=admin, user=manager, company=company, role=Role.RESPONSIBLE_MANAGER)
    return manager


def build_scene(company: Any, handler: Any, people: int, rng: random.Random) -> None:
    """N leavers of 2015, numbers stored in bulk."""
    from mnvault.companies.purposes import Purpose
    from mnvault.people.models import Person, PersonKind
    from mnvault.vault.api import vault_transaction

    store = _scene.bulk_store(handler, company, {PersonKind.EMPLOYEE: [Purpose.WITHHOLDING]})
    seen: set[str] = set()
    with vault_transaction():
        for start in range(0, people, 500):
            stop = min(start + 500, people)
            batch = [
                _scene.employee(company, i, rng, hired=HIRED, left=LEFT) for i in range(start, stop)
            ]
            Person.objects.bulk_create(batch)
            _scene.store_numbers(store, batch, rng, seen)
        _scene.record_scene(company, people, len(seen))


def copy_databases(workdir: Path) -> tuple[Path, Path]:
    """Consistent copies of the data file and the key store (SQLite's backup API), for the
    baseline: the same tables, indexes and pages as mnvault works on."""
    from django.conf import settings

    copies = []
    for alias in ("default", "keys"):
        target = workdir / f"baseline-{alias}.sqlite3"
        with sqlite3.connect(settings.DATABASES[alias]["NAME"]) as src:
            dst = sqlite3.connect(target)
            src.backup(dst)
            dst.close()
        copies.append(target)
    return copies[0], copies[1]


# --- mnvault --------------------------------------------------------------------------------


def measure_mnvault(company: Any, profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    from mnvault.accounts.models import User
    from mnvault.retention import services

    handler = User.objects.get(username=inst.HANDLER)
    approver = User.objects.get(username=SECOND_MANAGER)
    with Phase() as queue:
        due = services.due_list(company)
    people = [d.person for d in due]
    del due
    if profiler:
        profiler.enable()
    with Phase() as propose:
        batch = services.propose(acting_user=handler, company=company, people=people)
    with Phase() as approve:
        batch = services.approve(acting_user=approver, batch=batch)
    if profiler:
        profiler.disable()
    return {
        "queue": queue.figures(),
        "propose": propose.figures(),
        "approve": approve.figures(),
        "due": len(people),
        **check(batch, [p.pk for p in people]),
    }


def check(batch: Any, ids: list[int]) -> dict[str, Any]:
    """What the disposal left: every record disposed, no key, one shredding entry each."""
    from mnvault.audit.actions import Action
    from mnvault.audit.models import AuditEntry
    from mnvault.retention.models import BatchStatus
    from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
    from mnvault.vault.routers import KEY_STORE

    assert batch.status == BatchStatus.DONE, batch.status
    records = NumberRecord.objects.filter(person_id__in=ids)
    disposed = records.filter(
        status=NumberStatus.DISPOSED,
        ciphertext__isnull=True,
        number_index__isnull=True,
        certificate_number=batch.certificate_number,
    ).count()
    keys = DataKey.objects.using(KEY_STORE).filter(person_id__in=ids).count()
    shredded = AuditEntry.objects.filter(
        action=Action.DISPOSAL_SHRED, detail__batch=batch.pk
    ).count()
    assert (disposed, keys, shredded) == (len(ids), 0, len(ids)), (disposed, keys, shredded)
    return {"disposed": disposed, "keys_left": keys, "shred_entries": shredded}


# --- baseline -------------------------------------------------------------------------------


def baseline(data_db: Path, keys_db: Path, ids: list[int], company_id: int) -> dict[str, Any]:
    """The comparable minimum with sqlite3, on copies of mnvault's two database files taken
    after the scene (the same tables, indexes and rows), with mnvault's connection settings
    (WAL, ``secure_delete=ON``, FULL sync for the key store, NORMAL for the data):

    - key store, one transaction: delete the people's ``vault_datakey`` rows, 500 ids a
      statement (as ``shred_keys``);
    - data, one transaction: set each ``vault_numberrecord`` to disposed with the date and
      certificate, ciphertext and index NULL (500 ids a statement), and append one
      ``audit_auditentry`` a person after the current head, each hashed with SHA-256 over the
      previous hash and its canonical JSON, and move the head.

    Left out: the queue and the rules (every hold computed twice, in ``due_list`` and in
    ``propose``), the role and two-person checks and their audit entries, the batch and its
    10,000 items with their holds snapshot, the collection clean-up (photos, submitted
    numbers), the per-entry check that it holds no number, and the entries' HMAC."""
    today = date.today().isoformat()
    certificate = f"C-0000-000000-{secrets.token_hex(2).upper()}"
    chunks = [ids[i : i + 500] for i in range(0, len(ids), 500)]
    with Phase() as phase:
        keys = sqlite3.connect(keys_db, isolation_level=None)
        keys.executescript(
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA secure_delete=ON"
        )
        keys.execute("BEGIN IMMEDIATE")
        for chunk in chunks:
            marks = ",".join("?" * len(chunk))
            keys.execute(
                f"DELETE FROM vault_datakey WHERE company_id = ? AND person_id IN ({marks})",
                (company_id, *chunk),
            )
        keys.execute("COMMIT")
        keys.close()
        data = sqlite3.connect(data_db, isolation_level=None)
        data.executescript(
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA secure_delete=ON"
        )
        data.execute("BEGIN IMMEDIATE")
        for chunk in chunks:
            marks = ",".join("?" * len(chunk))
            data.execute(
                "UPDATE vault_numberrecord SET status = 'disposed', ciphertext = NULL, "
                "number_index = NULL, disposed_on = ?, certificate_number = ? "
                f"WHERE person_id IN ({marks})",
                (today, certificate, *chunk),
            )
        seq, digest = data.execute("SELECT seq, entry_hash FROM audit_audithead").fetchone()
        rows = []
        for pk in ids:
            seq += 1
            fields = {
                "seq": seq,
                "actor_kind": "user",
                "actor_id": 3,
                "actor_label": "approver",
                "company_id": company_id,
                "person_id": pk,
                "action": "disposal_shred",
                "purpose": "",
                "outcome": "ok",
                "reason": "",
                "client_address": "",
                "detail": {"batch": 1, "certificate": certificate},
                "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            }
            body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            prev, digest = digest, hashlib.sha256(f"{digest}\n{body}".encode()).hexdigest()
            rows.append((seq, fields["created_at"], pk, json.dumps(fields["detail"]), prev, digest))
            if len(rows) == 500 or pk == ids[-1]:
                data.executemany(
                    "INSERT INTO audit_auditentry (seq, created_at, actor_kind, actor_id, "
                    "actor_label, company_id, person_id, action, purpose, outcome, reason, "
                    "client_address, detail, prev_hash, entry_hash, mac) VALUES "
                    f"(?, ?, 'user', 3, 'approver', {company_id}, ?, 'disposal_shred', '', "
                    "'ok', '', '', ?, ?, ?, '')",
                    rows,
                )
                rows.clear()
        data.execute("UPDATE audit_audithead SET seq = ?, entry_hash = ?", (seq, digest))
        data.execute("COMMIT")
        data.close()
    with sqlite3.connect(keys_db) as keys, sqlite3.connect(data_db) as data:
        left = keys.execute("SELECT count(*) FROM vault_datakey").fetchone()[0]
        disposed = data.execute(
            "SELECT count(*) FROM vault_numberrecord WHERE status = 'disposed'"
        ).fetchone()[0]
    assert disposed == len(ids), disposed
    return {**phase.figures(), "keys_left_in_file": left}


# --- the worker and the report --------------------------------------------------------------


def worker(people: int, data: Path, profile: bool, profile_file: Path | None) -> None:
    inst.init(data)
    inst.use(data)
    from mnvault.accounts.models import User

    rng = random.Random(1)
    company = inst.create_company_with_handler()
    second_manager(company)
    started = time.perf_counter()
    build_scene(company, User.objects.get(username=inst.HANDLER), people, rng)
    inst.say(f"scene of {people} leavers: {time.perf_counter() - started:.1f} s")
    if profile:
        profiler = cProfile.Profile()
        result = measure_mnvault(company, profiler)
        if profile_file:
            profiler.dump_stats(profile_file)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
        result["people"] = people
        print(json.dumps(result))
        return
    data_copy, keys_copy = copy_databases(data)
    result = measure_mnvault(company)
    from mnvault.people.models import Person

    ids = list(Person.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))
    result["baseline"] = baseline(data_copy, keys_copy, ids, company.pk)
    result["people"] = people
    print(json.dumps(result))


def report(r: dict[str, Any]) -> None:
    n, base = r["people"], r["baseline"]
    print(f"\n{n} leavers: {r['due']} in the queue, {r['disposed']} records disposed, "
          f"{r['keys_left']} keys left, {r['shred_entries']} shredding entries")  # fmt: skip
    print(f"  {'phase':10} {'wall s':>7} {'cpu s':>7} {'people/s':>9} {'RSS at start':>12} "
          f"{'peak MB':>8}")  # fmt: skip
    for phase, f in (*((p, r[p]) for p in ("queue", "propose", "approve")), ("baseline", base)):
        print(f"  {phase:10} {f['wall']:7.2f} {f['cpu']:7.2f} {n / f['wall']:9.0f} "
              f"{f['before']:12.1f} {f['peak']:8.1f}")  # fmt: skip
    total = sum(r[p]["wall"] for p in ("queue", "propose", "approve"))
    cpu = sum(r[p]["cpu"] for p in ("queue", "propose", "approve"))
    print(f"  queue + propose + approve: {total:.2f} s wall, {cpu:.2f} s CPU; "
          f"/ baseline {total / base['wall']:.1f}x wall, {cpu / base['cpu']:.1f}x CPU")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-file", type=Path, help="also save the cProfile stats here")
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
        with inst.scratch("disposal") as tmp:
            inst.say(f"{n} leavers{' (profiled)' if profile else ''} ...")
            command = [inst.PYTHON, __file__, "--people", str(n), "--worker", tmp]
            if profile:
                command.append("--profile")
                if args.profile_file:
                    command += ["--profile-file", str(args.profile_file.resolve())]
            done = subprocess.run(
                command, cwd=inst.REPO, stdout=subprocess.PIPE, text=True, check=True
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if profile:
                print(f"\nprofiled run: propose {result['propose']['wall']:.2f} s, approve "
                      f"{result['approve']['wall']:.2f} s under cProfile")  # fmt: skip
            else:
                report(result)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
