"""How long a document run takes for N employees (default 10,000), and how much memory.

Issue 11 aims at producing the files and PDFs of 10,000 employees within 60 s with flat
memory. Each size runs in a fresh installation and a fresh process (``--worker``):

- scene: N employees (codes E000001…), every other one with a spouse and a child as
  dependents, everyone's number stored through ``vault.bulk.BulkStore`` (the demo's and the
  import's path) with the withholding purpose notified; a 統一CSV for 2025 with the number
  columns empty, 30% of the rows over ¥5M (so their slips go to the tax office).
- prepare: ``usage.runs.prepare_run`` (read, match, check, the rows saved).
- production: ``tasks.run_pending`` after ``start_production``: the numbers through
  ``provide_numbers`` in batches of 1,000 (one audit entry a person), the filled CSV, the tax
  office's PDFs in files of 1,000 slips, all inside the AES-256 ZIP, and the recipients' copies.
- download: ``usage.runs.download_archive`` (one audit entry a person).
- baseline: the comparable minimum with no framework, see ``baseline``.

Peak memory is ``VmHWM`` from ``/proc/self/status``, reset before each phase by writing 5 to
``/proc/self/clear_refs``, so each phase reports its own high-water mark (``ru_maxrss`` cannot
be reset, and carries a parent's peak into a child). ``--profile`` runs a second prepare and
production under cProfile after the figures, stats on stderr.

    .venv/bin/python bench/documents.py [--people N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import sqlite3
import subprocess
import sys
import time
import unicodedata
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import _installation as inst  # beside this script, so on sys.path
import _scene
from _phase import Phase

YEAR = 2025
OVER_LIMIT_EVERY = (0, 1, 2)  # i % 10 in these: ¥6M, over the tax office's ¥5M (30%)


# --- the scene ------------------------------------------------------------------------------


def build_scene(company: Any, handler: Any, people: int, rng: random.Random) -> list[tuple]:
    """(employee, [spouse, child] or []) for N employees, numbers stored in bulk."""
    from mnvault.companies.purposes import Purpose
    from mnvault.people.models import Person, PersonKind
    from mnvault.vault.api import vault_transaction

    store = _scene.bulk_store(handler, company, {k: [Purpose.WITHHOLDING] for k in PersonKind})
    scene: list[tuple] = []
    seen: set[str] = set()
    with vault_transaction():
        for start in range(0, people, 500):
            batch = [
                _scene.employee(company, i, rng, born_from=date(1960, 1, 1), born_days=365 * 45)
                for i in range(start, min(start + 500, people))
            ]
            Person.objects.bulk_create(batch)
            dependents = []
            for i, employee in enumerate(batch, start):
                kept = family_of(employee) if i % 2 == 0 else []
                dependents.extend(kept)
                scene.append((employee, kept))
            Person.objects.bulk_create(dependents)
            _scene.store_numbers(store, batch + dependents, rng, seen)
        _scene.record_scene(company, people, len(seen))
    return scene


def family_of(employee: Any) -> list[Any]:
    """A spouse and a child, not yet saved."""
    from mnvault.people.models import Person, PersonKind, Relationship

    return [
        Person(
            company=employee.company,
            kind=PersonKind.DEPENDENT,
            employee=employee,
            relationship=relationship,
            family_name=employee.family_name,
            given_name=name,
            family_name_kana=employee.family_name_kana,
            given_name_kana=kana,
            birth_date=born,
        )
        for relationship, name, kana, born in (
            (Relationship.SPOUSE, "和子", "カズコ", date(1970, 5, 5)),
            (Relationship.CHILD, "次郎", "ジロウ", date(2012, 5, 5)),
        )
    ]


def half_kana(text: str) -> str:
    """Full-width katakana in half width, as the 統一CSV's カナ氏名 wants them (as
    usage/tests/factory.py does; that module is not imported: it pulls in the test
    settings)."""
    table = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}
    out = []
    for char in text:
        if char in table:
            out.append(table[char])
            continue
        base = unicodedata.normalize("NFD", char)
        if len(base) == 2 and base[0] in table:
            out.append(table[base[0]] + ("ﾞ" if base[1] == "\u3099" else "ﾟ"))
        else:
            out.append(char)
    return "".join(out)


def unified_row(employee: Any, dependents: list, amount: int) -> list[str]:
    """One 統一CSV record with every number column empty (usage/tests/factory.unified_row)."""
    from mnvault.people.models import Relationship
    from mnvault.usage.layouts import unified_csv

    layout = unified_csv.layout_for(YEAR)
    values = [""] * layout.width
    values[layout.record_code] = "315"
    values[layout.payer_address] = "東京都千代田区千代田1-1"
    values[layout.payer_name] = "ベンチ株式会社"
    values[layout.payer_phone] = "03-0000-0000"
    values[layout.submission_kind] = "0"
    values[layout.year] = f"{YEAR - 2018:02d}"
    values[layout.recipient_address] = "東京都港区芝公園4-2-8"
    values[layout.recipient_name] = f"{employee.family_name} {employee.given_name}"
    values[layout.payment_kind] = "給料・賞与"
    values[layout.payment_amount] = str(amount)
    values[layout.tax_withheld] = str(amount // 20)
    born = employee.birth_date
    era, start = ("昭和", 1926) if born.year < 1989 else ("平成", 1989)
    values[layout.birth_era] = unified_csv.ERA_CODES[era]
    values[layout.birth_year] = str(born.year - start + 1)
    values[layout.birth_month] = str(born.month)
    values[layout.birth_day] = str(born.day)
    values[layout.kana_name] = half_kana(f"{employee.family_name_kana} {employee.given_name_kana}")
    values[layout.employee_code] = employee.employee_code
    values[layout.municipality_code] = "131032"
    for dependent in dependents:
        spouse = dependent.relationship == Relationship.SPOUSE
        columns = layout.spouse if spouse else layout.under_16[0]
        values[columns.name] = f"{dependent.family_name} {dependent.given_name}"
        values[columns.kana] = f"{dependent.family_name_kana} {dependent.given_name_kana}"
        values[columns.category] = "00"
    return values


def payroll_file(scene: list[tuple]) -> tuple[list[list[str]], bytes]:
    rows = [
        unified_row(e, d, 6_000_000 + i if i % 10 in OVER_LIMIT_EVERY else 3_000_000 + i)
        for i, (e, d) in enumerate(scene)
    ]
    return rows, "".join(",".join(r) + "\r\n" for r in rows).encode("cp932")


# --- mnvault --------------------------------------------------------------------------------


def measure_mnvault(
    company: Any, handler: Any, data: bytes, profile: bool, profile_file: Path | None = None
) -> dict[str, Any]:
    from django.utils import timezone

    from mnvault.audit.actors import Actor
    from mnvault.scheduler import tasks
    from mnvault.usage import checks, output, runs
    from mnvault.usage.models import RunStatus

    with Phase() as prepare:
        run = runs.prepare_run(
            acting_user=handler, company=company, kind="withholding", year=YEAR, data=data
        )
    blocked = sum(checks.is_blocked(p) for p in run.rows.values_list("problems", flat=True))
    assert blocked == 0, f"{blocked} rows blocked"
    actor = Actor.of(handler, authenticated_at=timezone.now())
    started = time.perf_counter()
    password = runs.start_production(acting_user=actor, run=run)
    start_seconds = time.perf_counter() - started
    profiler = cProfile.Profile() if profile else None
    with Phase() as production:
        if profiler:
            profiler.enable()
        tasks.run_pending()
        if profiler:
            profiler.disable()
    run.refresh_from_db()
    assert run.status == RunStatus.PRODUCED, run.status
    with Phase() as download:
        name = runs.download_archive(acting_user=handler, run=run)
    archive = output.path_of(name)
    copies = output.path_of(run.copies_name)
    counts = read_back(archive.read_bytes(), password, copies.read_bytes())
    result = {
        "prepare": prepare.figures(),
        "start": start_seconds,
        "production": production.figures(),
        "download": download.figures(),
        "archive_mb": archive.stat().st_size / 1e6,
        "copies_mb": copies.stat().st_size / 1e6,
        "summary": run.summary,
        **counts,
    }
    if profiler:
        if profile_file:
            profiler.dump_stats(profile_file)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    return result


def read_back(archive: bytes, password: str, copies: bytes) -> dict[str, int]:
    """What was made, counted from the files (in memory: the archive holds numbers)."""
    import pyzipper
    from pypdf import PdfReader

    counts = {"csv_rows": 0, "office_pdfs": 0, "office_pages": 0}
    with pyzipper.AESZipFile(io.BytesIO(archive)) as zf:
        zf.setpassword(password.encode("ascii"))
        for member in zf.namelist():
            body = zf.read(member)
            if member.endswith(".csv"):
                counts["csv_rows"] = body.count(b"\r\n")
            else:
                counts["office_pdfs"] += 1
                counts["office_pages"] += len(PdfReader(io.BytesIO(body)).pages)
            del body
    counts["copies_pages"] = len(PdfReader(io.BytesIO(copies)).pages)
    return counts


# --- baseline -------------------------------------------------------------------------------


def baseline(rows: list[list[str]], scene: list[tuple], made: dict[str, Any], workdir: Path):
    """The comparable minimum with no framework, in the same process:

    - numbers: the same count of people; per person a DEK unwrapped by the KEK (one AESGCM
      object, mnvault's associated data) and the number opened under it (AES-256-GCM), both
      read with sqlite3 from a key file and a data file (separate, as mnvault keeps them).
      The KEK, DEKs and numbers are the baseline's own, made untimed before: only the vault
      opens mnvault's, and the key hierarchy and sizes are the same.
    - the CSV: the same rows with the numbers in the same columns, ``csv.writer`` in cp932,
      into a plain deflated ZIP member (no AES, no JIS check per cell).
    - PDFs: as many pages as mnvault made, each with one line of text in the embedded font on
      a bare reportlab canvas, the office's pages in members of the same ZIP, one file per
      1,000 slips, and the recipients' pages in a plain file.

    Left out: the audit chain (one entry per number provided and per download, with its MAC),
    the role, purpose and scope checks, reading and matching the input, the run's rows and
    ledger, the form grid and its ~60 text runs a slip with shrink-to-fit, the JIS encoding
    and halfwidth-kana rule per cell, and the archive's encryption."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from mnvault.domain.numbers import generate_fake
    from mnvault.usage.layouts import unified_csv
    from mnvault.usage.pdf import fonts, layout

    fonts.register()  # loading the fonts is start-up for mnvault too
    ids = [(e.pk, [d.pk for d in deps]) for e, deps in scene]
    keys_db, data_db = workdir / "baseline-keys.sqlite3", workdir / "baseline-data.sqlite3"
    kek_id, kek = "bench", AESGCM.generate_key(bit_length=256)
    wrapper, rng = AESGCM(kek), random.Random(7)
    with sqlite3.connect(keys_db) as kdb, sqlite3.connect(data_db) as ddb:
        kdb.execute("CREATE TABLE k (person INTEGER PRIMARY KEY, wrapped BLOB)")
        ddb.execute("CREATE TABLE n (person INTEGER PRIMARY KEY, ciphertext BLOB)")
        for pk in (p for e, d in ids for p in (e, *d)):
            dek, n1, n2 = AESGCM.generate_key(bit_length=256), os.urandom(12), os.urandom(12)
            dek_aad = f"mnvault:dek:v1|company=1|person={pk}|kek={kek_id}".encode()
            field = f"mnvault:v1|company=1|person={pk}|field=number".encode()
            sealed = n2 + AESGCM(dek).encrypt(n2, generate_fake(rng).encode(), field)
            kdb.execute("INSERT INTO k VALUES (?, ?)", (pk, n1 + wrapper.encrypt(n1, dek, dek_aad)))
            ddb.execute("INSERT INTO n VALUES (?, ?)", (pk, sealed))
    lay = unified_csv.layout_for(YEAR)
    out_zip, out_pdf = workdir / "baseline.zip", workdir / "baseline-copies.pdf"
    with Phase() as phase:
        wrapper = AESGCM(kek)
        numbers: dict[int, str] = {}
        kdb, ddb = sqlite3.connect(keys_db), sqlite3.connect(data_db)
        wrapped = dict(kdb.execute("SELECT person, wrapped FROM k"))
        for pk, blob in ddb.execute("SELECT person, ciphertext FROM n"):
            w = wrapped[pk]
            aad = f"mnvault:dek:v1|company=1|person={pk}|kek={kek_id}".encode()
            dek = wrapper.decrypt(w[:12], w[12:], aad)
            field = f"mnvault:v1|company=1|person={pk}|field=number".encode()
            numbers[pk] = AESGCM(dek).decrypt(blob[:12], blob[12:], field).decode()
        kdb.close()
        ddb.close()
        with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open(f"315_{YEAR}_unified.csv", "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="cp932", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                for values, (pk, deps) in zip(rows, ids, strict=True):
                    values = list(values)
                    values[lay.recipient_number] = numbers[pk]
                    if deps:
                        values[lay.spouse.number] = numbers[deps[0]]
                        values[lay.under_16[0].number] = numbers[deps[1]]
                    writer.writerow(values)
                text.flush()
                text.detach()
            pages, files = made["office_pages"], made["office_pdfs"]
            for index in range(files):
                with zf.open(f"gensen_{index + 1:03d}.pdf", "w", force_zip64=True) as handle:
                    share = pages // files + (1 if index < pages % files else 0)
                    bare_pages(layout, fonts, handle, share)
        with out_pdf.open("wb") as handle:
            bare_pages(layout, fonts, handle, made["copies_pages"])
    numbers.clear()
    return {**phase.figures(), "zip_mb": out_zip.stat().st_size / 1e6}


def bare_pages(layout: Any, fonts: Any, handle: Any, pages: int) -> None:
    canvas = layout.new_canvas(handle, "baseline")
    for i in range(pages):
        canvas.setFont(fonts.GOTHIC.name, 10)
        canvas.drawString(50, 800, f"令和7年分 給与所得の源泉徴収票 {i}")
        canvas.showPage()
    canvas.save()


# --- the worker and the report --------------------------------------------------------------


def worker(people: int, data: Path, profile: bool, profile_file: Path | None) -> None:
    inst.init(data)
    inst.use(data)
    from mnvault.accounts.models import User
    from mnvault.demo import fake_corporate_number

    rng = random.Random(1)
    company = inst.create_company_with_handler()
    company.corporate_number = fake_corporate_number(rng)
    company.save()
    handler = User.objects.get(username=inst.HANDLER)
    started = time.perf_counter()
    scene = build_scene(company, handler, people, rng)
    rows, payroll = payroll_file(scene)
    inst.say(f"scene of {people} employees: {time.perf_counter() - started:.1f} s")
    result = measure_mnvault(company, handler, payroll, profile=False)
    result["baseline"] = baseline(rows, scene, result, data)
    result["people"] = people
    result["numbers"] = people + 2 * ((people + 1) // 2)
    if profile:
        inst.say("profiling a second run (stats on stderr) ...")
        measure_mnvault(company, handler, payroll, profile=True, profile_file=profile_file)
    print(json.dumps(result))


def report(r: dict[str, Any]) -> None:
    n, base = r["people"], r["baseline"]
    print(f"\n{n} employees ({r['numbers']} numbers), {r['summary']['tax_office']} slips to "
          f"the tax office: CSV {r['csv_rows']} rows; office PDFs {r['office_pdfs']} files, "
          f"{r['office_pages']} pages; copies {r['copies_pages']} pages")  # fmt: skip
    print(f"  {'phase':12} {'wall s':>7} {'cpu s':>7} {'rows/s':>8} {'RSS at start':>12} "
          f"{'peak MB':>8}")  # fmt: skip
    for phase, f in (*((p, r[p]) for p in ("prepare", "production", "download")),
                     ("baseline", base)):  # fmt: skip
        print(f"  {phase:12} {f['wall']:7.2f} {f['cpu']:7.2f} {n / f['wall']:8.0f} "
              f"{f['before']:12.1f} {f['peak']:8.1f}")  # fmt: skip
    p = r["production"]
    print(
        f"  production / baseline: {p['wall'] / base['wall']:.1f}x wall, "
        f"{p['cpu'] / base['cpu']:.1f}x CPU; start_production {r['start'] * 1000:.0f} ms"
    )
    print(f"  archive {r['archive_mb']:.1f} MB (baseline plain zip {base['zip_mb']:.1f} MB), "
          f"copies {r['copies_mb']:.1f} MB")  # fmt: skip


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
    for n in (args.people // 10, args.people):
        with inst.scratch("documents") as tmp:
            inst.say(f"{n} employees ...")
            command = [inst.PYTHON, __file__, "--people", str(n), "--worker", tmp]
            if args.profile and n == args.people:
                command.append("--profile")
                if args.profile_file:
                    command += ["--profile-file", str(args.profile_file.resolve())]
            done = subprocess.run(
                command, cwd=inst.REPO, stdout=subprocess.PIPE, text=True, check=True
            )
            report(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
