"""How fast ``mnvault import people`` takes in a large CSV, and whether its memory stays flat.

An office moving from a spreadsheet ledger imports every employee at once, so the import must
finish in seconds and must not grow with the file (it streams in batches inside one
transaction). The aim (issue): within 3x of a raw baseline that does the same cryptography and
inserts with no framework, about 5 s for 100,000 rows on a 2-core machine, memory flat.

For each size (N/4, N/2, N) the script measures, each in a fresh installation made by
``mnvault init`` and in a fresh process, so that peak RSS belongs to that run alone:

- in-process: ``mnvault.people.csv_import.import_people`` called after ``django.setup()``,
  timed around that call only;
- CLI: ``mnvault import people FILE --company ID --user NAME`` as a subprocess (the console
  entry point, through ``_cli.py``), wall time (Django start-up, key unlock, sniffing and the
  final checkpoint included);
- baseline: csv + cryptography + sqlite3, no framework (see ``baseline``).

Usage: ``.venv/bin/python bench/import_people.py [--rows N] [--profile]``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import random
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _installation as inst

HEADER = ["社員番号", "姓", "名", "セイ", "メイ", "生年月日", "個人番号"]
FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("健", "ケン"),
    ("美咲", "ミサキ"),
    ("大輔", "ダイスケ"),
    ("陽菜", "ヒナ"),
    ("翔", "ショウ"),
    ("結衣", "ユイ"),
]
BASELINE_BATCH = 1000


def write_csvs(paths: dict[int, Path], seed: int) -> None:
    """One pass writes every size: each smaller file is a prefix of the larger ones. Numbers
    have valid check digits and are random (``generate_fake``), never real."""
    from mnvault.domain.numbers import generate_fake

    rng = random.Random(seed)
    handles = {size: path.open("w", encoding="utf-8", newline="") for size, path in paths.items()}
    writers = {size: csv.writer(handle) for size, handle in handles.items()}
    for writer in writers.values():
        writer.writerow(HEADER)
    seen: set[str] = set()
    for index in range(max(paths)):
        number = generate_fake(rng)
        while number in seen:
            number = generate_fake(rng)
        seen.add(number)
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        row = [f"E{index + 1:07d}", family[0], given[0], family[1], given[1], born.isoformat()]
        row.append(number)
        for size, writer in writers.items():
            if index < size:
                writer.writerow(row)
    for handle in handles.values():
        handle.close()


# --- workers: each runs in a process of its own and prints one JSON line -------------------


def worker_inprocess(csv_path: Path, data_dir: Path, company_id: int, profile: bool) -> dict:
    """The company was prepared by another process, so that the Argon2 hashing of the admin's
    password (about 100 MB) does not show in this one's peak RSS."""
    inst.use(data_dir)
    from mnvault.accounts.models import User
    from mnvault.companies.models import Company
    from mnvault.people.csv_import import import_people

    company = Company.objects.get(pk=company_id)
    handler = User.objects.get(username=inst.HANDLER)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    report = import_people(csv_path, acting_user=handler, company=company)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return {"seconds": seconds, "cpu": cpu, "people": report.people, "numbers": report.numbers}


def worker_prepare(data_dir: Path) -> dict:
    inst.use(data_dir)
    return {"company_id": inst.create_company_with_handler().pk}


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    # As mnvault's settings: WAL, synchronous NORMAL, secure_delete.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA secure_delete=ON")
    return db


def baseline(csv_path: Path, workdir: Path) -> dict:
    """The same work with no framework: read the CSV; per row a fresh 32-byte DEK wrapped by
    the KEK (one AESGCM object), the number sealed under the DEK, both with associated data as
    mnvault binds them, the HMAC-SHA256 index; person and number rows into one SQLite file and
    the key row into another, ``executemany`` in batches of 1000, one transaction per file.
    The tables keep mnvault's uniqueness constraints (employee code and number index per
    company, one key per person), not its secondary indexes, purposes or audit entry."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    started, cpu_started = time.perf_counter(), time.process_time()
    data, keystore = _connect(workdir / "data.sqlite3"), _connect(workdir / "keys.sqlite3")
    data.execute(
        "CREATE TABLE person (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL, "
        "kind TEXT NOT NULL, employee_code TEXT NOT NULL, family_name TEXT NOT NULL, "
        "given_name TEXT NOT NULL, family_name_kana TEXT NOT NULL, given_name_kana TEXT NOT NULL, "
        "birth_date TEXT, created_at TEXT NOT NULL, UNIQUE (company_id, employee_code))"
    )
    data.execute(
        "CREATE TABLE number (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL, "
        "person_id INTEGER NOT NULL UNIQUE, ciphertext BLOB NOT NULL, number_index BLOB NOT NULL, "
        "status TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (company_id, number_index))"
    )
    keystore.execute(
        "CREATE TABLE data_key (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL, "
        "person_id INTEGER NOT NULL UNIQUE, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL, "
        "created_at TEXT NOT NULL)"
    )
    company, kek_id, now = 1, "k1", time.strftime("%Y-%m-%d %H:%M:%S")
    kek = AESGCM(AESGCM.generate_key(bit_length=256))
    index_key = os.urandom(32)
    people: list[tuple] = []
    records: list[tuple] = []
    data_keys: list[tuple] = []

    def flush() -> None:
        data.executemany("INSERT INTO person VALUES (?,?,?,?,?,?,?,?,?,?)", people)
        data.executemany("INSERT INTO number VALUES (NULL,?,?,?,?,?,?)", records)
        keystore.executemany("INSERT INTO data_key VALUES (NULL,?,?,?,?,?)", data_keys)
        people.clear()
        records.clear()
        data_keys.clear()

    data.execute("BEGIN IMMEDIATE")
    keystore.execute("BEGIN IMMEDIATE")
    person_id = 0
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for code, family, given, family_kana, given_kana, born, number in reader:
            person_id += 1
            person = (person_id, company, "employee", code, family, given, family_kana, given_kana)
            people.append((*person, born, now))
            dek = AESGCM.generate_key(bit_length=256)
            nonce = os.urandom(12)
            dek_aad = f"mnvault:dek:v1|company={company}|person={person_id}|kek={kek_id}"
            wrapped = b"\x01" + nonce + kek.encrypt(nonce, dek, dek_aad.encode())
            data_keys.append((company, person_id, kek_id, wrapped, now))
            digits = number.encode("ascii")
            nonce = os.urandom(12)
            aad = f"mnvault:v1|company={company}|person={person_id}|field=individual_number"
            sealed = b"\x01" + nonce + AESGCM(dek).encrypt(nonce, digits, aad.encode())
            index = hmac.new(index_key, digits, hashlib.sha256).digest()
            records.append((company, person_id, sealed, index, "active", now))
            if len(people) == BASELINE_BATCH:
                flush()
    flush()
    keystore.execute("COMMIT")
    data.execute("COMMIT")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    data.close()
    keystore.close()
    return {"seconds": seconds, "cpu": cpu, "people": person_id}


# --- orchestration ----------------------------------------------------------------------------


def _worker(args: list[str], env: dict[str, str], workdir: Path) -> tuple[dict, inst.Run]:
    run = inst.run_measured([inst.PYTHON, __file__, *args], env, workdir)
    if run.returncode != 0:
        raise SystemExit(f"worker {args[:2]} failed:\n{run.stderr[-4000:]}")
    if run.stderr.strip():
        sys.stderr.write(run.stderr)
    return json.loads(run.stdout.strip().splitlines()[-1]), run


def inprocess(size: int, csv_path: Path, root: Path, *, profile: bool = False) -> dict:
    """``import_people`` in a worker process of its own, in a fresh installation."""
    data_dir = root / f"inprocess-{size}{'-profiled' if profile else ''}"
    env = inst.init(data_dir)
    prepared, _run = _worker(["--worker", "prepare", "--data-dir", str(data_dir)], env, data_dir)
    command = ["--worker", "inprocess", "--csv", str(csv_path), "--data-dir", str(data_dir)]
    command += ["--company", str(prepared["company_id"])]
    result, run = _worker([*command, "--profile"] if profile else command, env, data_dir)
    assert result["people"] == result["numbers"] == size, result
    return {**result, "rss": run.max_rss_mb}


def measure(size: int, csv_path: Path, root: Path) -> dict[str, dict]:
    """Baseline, in-process and CLI imports of one file, each in its own installation and
    process: seconds (wall), cpu (seconds) and rss (peak MB) of each."""
    base_dir = root / f"baseline-{size}"
    base_dir.mkdir()
    result, run = _worker(
        ["--worker", "baseline", "--csv", str(csv_path), "--data-dir", str(base_dir)],
        inst.environment(base_dir),
        base_dir,
    )
    assert result["people"] == size, result
    figures = {"baseline": {**result, "rss": run.max_rss_mb}}

    figures["in-process"] = inprocess(size, csv_path, root)

    cli_dir = root / f"cli-{size}"
    env = inst.init(cli_dir)
    prepared, _run = _worker(["--worker", "prepare", "--data-dir", str(cli_dir)], env, cli_dir)
    command = inst.cli("import", "people", str(csv_path), "--company", str(prepared["company_id"]))
    run = inst.run_measured([*command, "--user", inst.HANDLER], env, cli_dir)
    if run.returncode != 0 or f"Imported {size} people" not in run.stdout:
        raise SystemExit(f"CLI import failed ({run.returncode}):\n{run.stderr[-4000:]}")
    figures["CLI"] = {"seconds": run.seconds, "cpu": run.cpu_seconds, "rss": run.max_rss_mb}
    return figures


KINDS = ("in-process", "CLI", "baseline")


def report(sizes: list[int], runs: list[dict[str, dict]]) -> None:
    print()
    print("wall time (rows/s); ratio = mnvault / baseline")
    print(f"{'rows':>8} | " + " | ".join(f"{k:>19}" for k in KINDS) + " | ratio in-proc  CLI")
    for n, figures in zip(sizes, runs, strict=True):
        walls = [figures[k]["seconds"] for k in KINDS]
        cells = [f"{wall:>7.2f}s ({n / wall:>6.0f}/s)" for wall in walls]
        base = figures["baseline"]["seconds"]
        ratios = [figures[k]["seconds"] / base for k in KINDS[:2]]
        print(f"{n:>8} | " + " | ".join(cells) + f" | {ratios[0]:>11.1f}x {ratios[1]:>4.1f}x")
    print()
    print("CPU seconds and peak RSS (MB) of each process")
    print(f"{'rows':>8} | " + " | ".join(f"{k:>19}" for k in KINDS))
    for n, figures in zip(sizes, runs, strict=True):
        cells = [f"{figures[k]['cpu']:>7.2f}s {figures[k]['rss']:>7.1f} MB" for k in KINDS]
        print(f"{n:>8} | " + " | ".join(cells))
    n, big, small = sizes[-1], runs[-1], runs[0]
    base = big["baseline"]
    print()
    for kind in KINDS[:2]:
        wall, cpu = big[kind]["seconds"] / base["seconds"], big[kind]["cpu"] / base["cpu"]
        verdict = "met" if wall <= 3 else "MISSED"
        growth = big[kind]["rss"] - small[kind]["rss"]
        print(
            f"{kind:>10} at {n} rows: {wall:.2f}x the baseline (CPU {cpu:.2f}x), aim 3x {verdict}; "
            f"peak RSS {growth:+.1f} MB from {sizes[0]} rows"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="largest file (default 100000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, cProfile one more in-process import of N rows (stats on stderr)",
    )
    parser.add_argument("--worker", choices=["inprocess", "prepare", "baseline"], help="internal")
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--company", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "inprocess":
        print(json.dumps(worker_inprocess(args.csv, args.data_dir, args.company, args.profile)))
        return
    if args.worker == "prepare":
        print(json.dumps(worker_prepare(args.data_dir)))
        return
    if args.worker == "baseline":
        print(json.dumps(baseline(args.csv, args.data_dir)))
        return

    sizes = sorted({max(args.rows // 4, 1), max(args.rows // 2, 1), args.rows})
    print(f"import_people: sizes {sizes}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"load average at the start: {os.getloadavg()}")
    with inst.scratch("import") as tmp:
        root = Path(tmp)
        paths = {size: root / f"people-{size}.csv" for size in sizes}
        inst.say(f"writing CSV files ({max(sizes)} rows) ...")
        write_csvs(paths, args.seed)
        runs = []
        for size in sizes:
            inst.say(f"measuring {size} rows ...")
            runs.append(measure(size, paths[size], root))
        report(sizes, runs)
        print(f"load average at the end: {os.getloadavg()}")
        if args.profile:
            # A separate run: cProfile's overhead must not touch the figures above.
            inst.say(f"profiling the in-process import of {args.rows} rows (stats on stderr) ...")
            result = inprocess(args.rows, paths[args.rows], root, profile=True)
            print(f"profiled run: {result['seconds']:.2f}s under cProfile")


if __name__ == "__main__":
    main()
