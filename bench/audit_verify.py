"""How long ``mnvault audit verify`` takes over a large audit chain.

An auditor runs the verification over the whole log, which grows with every reveal: a few
years of a busy office is about a million entries. The aim (issue): verify 1,000,000 entries in
under 10 s. The baseline, measured in the same run, is a bare loop with sqlite3 that reads the
same rows and checks the same hash chain over the same canonical bytes, so the ratio shows what
the framework costs on top of the unavoidable JSON and SHA-256 work.

The chain is built quickly rather than through ``record()`` (a million transactions would take
far longer than the verification): rows are inserted in bulk with hashes computed by
``mnvault.audit.log.entry_hash``/``hashed_fields``, the canonical form ``record()`` uses, and
each with its MAC (``mnvault.audit.signing.mac``), after the genuine entries of the set-up;
then ``AuditHead`` is set and a checkpoint is signed with ``write_checkpoint``, so ``verify``
checks chain, MACs, head, signature and the data cross-check as it would in use.

Usage: ``.venv/bin/python bench/audit_verify.py [--rows N] [--profile]``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _installation as inst

COLUMNS = (
    "seq",
    "created_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "company_id",
    "person_id",
    "action",
    "purpose",
    "outcome",
    "reason",
    "client_address",
    "detail",
    "prev_hash",
    "entry_hash",
    "mac",
)
INSERT_BATCH = 20_000


class Timing(NamedTuple):
    wall: float
    cpu: float


def _entry(rng: random.Random, seq: int, when: datetime, company: int, user: int) -> dict:
    """One plausible entry: mostly reveals, some refusals, stores, imports and role grants."""
    entry: dict[str, Any] = {
        "seq": seq,
        "created_at": when,
        "actor_kind": "user",
        "actor_id": user,
        "actor_label": inst.HANDLER,
        "company_id": company,
        "person_id": rng.randrange(1, 100_000),
        "action": "number.reveal",
        "purpose": rng.choice(inst.PURPOSES),
        "outcome": "ok",
        "reason": "",
        "client_address": f"192.0.2.{rng.randrange(1, 255)}",
        "detail": {},
    }
    pick = rng.random()
    if pick < 0.10:
        entry.update(outcome="refused", reason="purpose_not_notified_to_person")
    elif pick < 0.20:
        entry.update(action="number.store", purpose="", client_address="")
    elif pick < 0.25:
        digest = base64.b64encode(rng.randbytes(32)).decode()
        count = rng.randrange(1, 5000)
        entry.update(action="people.import", person_id=None, purpose="", client_address="")
        entry["detail"] = {"file_sha256": digest, "people": count, "numbers": count}
    elif pick < 0.27:
        entry.update(action="accounts.role.grant", person_id=None, purpose="", client_address="")
        entry.update(actor_label="責任者 bench-manager")
        entry["detail"] = {"user_id": rng.randrange(1, 50), "role": "handler"}
    return entry


def build_chain(total: int, seed: int) -> int:
    """Extend the chain the set-up started up to ``total`` entries; the number of rows added."""
    from django.db import connection, transaction

    from mnvault.accounts.models import User
    from mnvault.audit import signing
    from mnvault.audit.checkpoints import write_checkpoint
    from mnvault.audit.log import entry_hash, hashed_fields
    from mnvault.audit.models import AuditEntry, AuditHead
    from mnvault.companies.models import Company

    rng = random.Random(seed)
    mac_key = signing.mac_key()
    company = Company.objects.get().pk
    user = User.objects.get(username=inst.HANDLER).pk
    head = AuditHead.objects.get(pk=1)
    seq, prev = head.seq, head.entry_hash
    added = total - seq
    adapt = connection.ops.adapt_datetimefield_value
    when = datetime(2024, 4, 1, tzinfo=UTC)
    marks = ",".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {AuditEntry._meta.db_table} ({','.join(COLUMNS)}) VALUES ({marks})"
    with transaction.atomic():
        batch: list[tuple] = []
        while seq < total:
            seq += 1
            when += timedelta(seconds=rng.randrange(1, 90), microseconds=rng.randrange(10**6))
            entry = _entry(rng, seq, when, company, user)
            digest = entry_hash(prev, hashed_fields(entry))
            row = [entry[name] for name in COLUMNS[:-3]]
            row[1], row[12] = adapt(when), json.dumps(entry["detail"])
            batch.append((*row, prev, digest, signing.mac(mac_key, seq, digest)))
            prev = digest
            if len(batch) == INSERT_BATCH or seq == total:
                with connection.cursor() as cursor:
                    cursor.executemany(sql, batch)
                batch = []
        AuditHead.objects.filter(pk=1).update(seq=seq, entry_hash=prev)
    write_checkpoint()
    return added


def baseline(db_path: Path, mac_key: bytes) -> tuple[Timing, int]:
    """The bare loop: sqlite3 rows → the canonical bytes → SHA-256 and the HMAC-SHA256 of each
    entry, checking sequence, links, hashes and MACs like ``verify`` (the one checkpoint
    signature and the cross-check with the data, a few queries, are left out)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute(f"SELECT {','.join(COLUMNS)} FROM audit_auditentry ORDER BY seq")
    sha256, dumps, loads, digest_of = hashlib.sha256, json.dumps, json.loads, hmac.digest
    expected, prev = 1, "0" * 64
    for row in rows:
        seq, created, kind, actor, label, company, person = row[:7]
        action, purpose, outcome, reason, address, detail, prev_hash, digest, mac = row[7:]
        if seq != expected or prev_hash != prev:
            raise SystemExit(f"baseline: chain broken at #{seq}")
        stamp = created.replace(" ", "T")
        if "." not in stamp:
            stamp += ".000000"
        fields = {
            "seq": seq,
            "actor_kind": kind,
            "actor_id": actor,
            "actor_label": label,
            "company_id": company,
            "person_id": person,
            "action": action,
            "purpose": purpose,
            "outcome": outcome,
            "reason": reason,
            "client_address": address,
            "detail": loads(detail),
            "created_at": stamp + "+00:00",
        }
        body = dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if sha256(prev.encode() + b"\n" + body.encode()).hexdigest() != digest:
            raise SystemExit(f"baseline: entry #{seq} does not hash to its stored value")
        message = b"mnvault-audit-mac:v1|%d|%s" % (seq, digest.encode())
        if digest_of(mac_key, message, "sha256").hex() != mac:
            raise SystemExit(f"baseline: entry #{seq} has a MAC that does not hold")
        prev, expected = digest, seq + 1
    db.close()
    timing = Timing(time.perf_counter() - started, time.process_time() - cpu_started)
    return timing, expected - 1


def report(n: int, inprocess: Timing, cli: inst.Run, base: Timing) -> None:
    limit = 10 * n / 1_000_000  # the aim, scaled to the chain's length
    rows = [
        ("verify() in-process", inprocess.wall, inprocess.cpu, ""),
        ("mnvault audit verify", cli.seconds, cli.cpu_seconds, f"{cli.max_rss_mb:.1f}"),
        ("baseline (sqlite3 loop)", base.wall, base.cpu, ""),
    ]
    print()
    print(f"{'':24} {'wall s':>8} {'CPU s':>8} {'entries/s':>10} {'peak RSS MB':>12}")
    for name, wall, cpu, rss in rows:
        print(f"{name:24} {wall:>8.2f} {cpu:>8.2f} {n / wall:>10.0f} {rss:>12}")
    print()
    for name, wall, cpu, _rss in rows[:2]:
        print(
            f"{name:>20}: {wall / base.wall:.2f}x the baseline (CPU {cpu / base.cpu:.2f}x); "
            f"aim under {limit:g} s for {n} entries {'met' if wall < limit else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="entries (default 1000000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, cProfile one more in-process verify (stats on stderr)",
    )
    args = parser.parse_args()
    print(f"audit_verify: {args.rows} entries, {os.cpu_count()} CPUs, load {os.getloadavg()}")

    with inst.scratch("audit") as tmp:
        data_dir = Path(tmp) / "data"
        env = inst.init(data_dir)
        inst.use(data_dir)
        from django.conf import settings

        from mnvault.audit import signing
        from mnvault.audit.verify import verify

        inst.create_company_with_handler()
        inst.say(f"building a chain of {args.rows} entries ...")
        started = time.perf_counter()
        added = build_chain(args.rows, args.seed)
        built = time.perf_counter() - started
        print(f"built: {added} entries added to the set-up's in {built:.1f}s")

        started, cpu_started = time.perf_counter(), time.process_time()
        result = verify()
        inprocess = Timing(time.perf_counter() - started, time.process_time() - cpu_started)
        if not result.ok or result.entries != args.rows:
            raise SystemExit(f"verify did not pass: {result}")

        english = {**env, "MNVAULT_LANGUAGE": "en"}  # the figures read its English message
        run = inst.run_measured(inst.cli("audit", "verify"), english, Path(tmp))
        if run.returncode != 0 or f"OK: {args.rows} entries" not in run.stdout:
            raise SystemExit(f"CLI verify failed ({run.returncode}): {run.stdout}{run.stderr}")

        base, counted = baseline(Path(settings.DATABASES["default"]["NAME"]), signing.mac_key())
        assert counted == args.rows

        report(args.rows, inprocess, run, base)
        print(f"load average at the end: {os.getloadavg()}")

        if args.profile:
            import cProfile
            import pstats

            inst.say("profiling verify() (stats on stderr) ...")
            profiler = cProfile.Profile()
            profiler.enable()
            verify()
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
