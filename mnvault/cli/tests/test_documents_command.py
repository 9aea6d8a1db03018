"""``mnvault documents``, run as the real console script in a throw-away demo installation:
a payroll file in, the encrypted archive out with the numbers the vault holds, the password
once on stderr, and refusals as exit status 2 without a traceback."""

from __future__ import annotations

import json
import re
import stat

import pytest
from django.utils import timezone

from mnvault.cli.tests.runner import ENGLISH, Installation
from mnvault.usage.kinds import KINDS

pytestmark = pytest.mark.slow

YEAR = 2025
EMPLOYEES = 4
PASSWORD = re.compile(r"^(?:Password of the archive|アーカイブのパスワード): (\S+)$", re.M)

# Run inside the installation: a 統一CSV of its first employees (numbers empty, as payroll
# exports it), and a last line whose name has a character outside JIS level 1–2 and no code.
MAKE_CSV = r"""
import sys
import django
django.setup()
from mnvault.people.models import Person, PersonKind
from mnvault.usage.tests.factory import Staff, csv_bytes, unified_row
out, count = sys.argv[1], int(sys.argv[2])
people = list(Person.objects.filter(kind=PersonKind.EMPLOYEE).order_by("pk")[:count])
rows = [unified_row(2025, Staff(p)) for p in people]
rows.append(unified_row(2025, Staff(people[0]), code="X999", name="髙橋 一"))
open(out, "wb").write(csv_bytes(rows))
"""

# Run inside the installation: the archive opened with the password, each line's number
# compared with the number the vault holds for the line's employee, and the recipients'
# copies searched for every one of them. Prints counts only, never a number.
CHECK = r"""
import io, json, sys
import django
django.setup()
import pyzipper
from pypdf import PdfReader
from mnvault.accounts.models import User
from mnvault.people.models import Person
from mnvault.usage.layouts import unified_csv
from mnvault.vault.services import reveal_number
archive, password, copies = sys.argv[1], sys.argv[2], sys.argv[3]
layout = unified_csv.layout_for(2025)
with pyzipper.AESZipFile(archive) as zf:
    zf.setpassword(password.encode())
    names = zf.namelist()
    text = zf.read("315_2025_unified.csv").decode("shift_jis")
manager = User.objects.get(username__endswith="-responsible_manager")
lines = [line.split(",") for line in text.split("\r\n") if line]
matched, numbers = 0, []
for values in lines:
    person = Person.objects.get(employee_code=values[layout.employee_code])
    stored = reveal_number(acting_user=manager, person=person, purpose="withholding")
    numbers.append(stored)
    matched += values[layout.recipient_number] == stored
pdf = "".join(page.extract_text() for page in PdfReader(copies).pages)
print(json.dumps({
    "members": names,
    "lines": len(lines),
    "matched": matched,
    "copies_pages": len(PdfReader(copies).pages),
    "copies_with_a_number": sum(n in pdf.replace(" ", "") for n in numbers),
}))
"""


def audit_entries(installation: Installation, action: str, outcome: str) -> int:
    with installation.connect("mnvault.sqlite3") as connection:
        row = connection.execute(
            "SELECT count(*) FROM audit_auditentry WHERE action = ? AND outcome = ?",
            [action, outcome],
        )
        return row.fetchone()[0]


@pytest.fixture
def scene(with_demo, tmp_path):
    installation, demo = with_demo
    installation.extra_env.update(
        {"MNVAULT_REVEALS_PER_HOUR": "0", "MNVAULT_COMPANY_REVEALS_PER_HOUR": "0"}
    )
    payroll = tmp_path / "payroll.csv"
    installation.python(MAKE_CSV, str(payroll), str(EMPLOYEES))
    return installation, demo, payroll


def test_kinds_lists_the_six_kinds_in_either_language(initialised):
    japanese, english = (
        initialised.run("documents", "kinds"),
        initialised.run("documents", "kinds", env=ENGLISH),
    )
    codes = {line for line in english.out.splitlines() if not line.startswith(" ")}
    assert {code.split(" ")[0] for code in codes} == set(KINDS)
    assert len(KINDS) == 6
    assert "withholding (layout unconfirmed)" in codes
    assert "number_register" in codes, "a confirmed layout carries no flag"
    assert "Years: 2016 to 2099" in english.out
    assert "Purpose: Withholding slips" in english.out
    assert "利用目的: 源泉徴収票" in japanese.out
    assert "Years:" not in japanese.out


def test_prepare_produce_gives_an_archive_with_the_stored_numbers_and_the_password_once(scene):
    installation, demo, payroll = scene
    handler = demo.users["handler"][0]
    company = str(demo.company_id)
    prepared = installation.run(
        "documents",
        "prepare",
        "withholding",
        str(payroll),
        "--company",
        company,
        "--year",
        str(YEAR),
        "--as",
        handler,
        expect=3,
        env=ENGLISH,
    )
    run = re.search(r"Prepared run (\d+)\.", prepared.out)
    assert run, prepared.describe()
    last = EMPLOYEES + 1
    assert f"line {last}: 髙橋 一 [blocked]" in prepared.out
    assert "column 14: 髙 → 高" in prepared.out
    assert f"{last} rows: {EMPLOYEES} can be produced, 1 blocked" in prepared.out
    installation.run("documents", "exclude", run[1], str(last), "--as", handler)

    out, copies = installation.root / "run.zip", installation.root / "copies.pdf"
    produced = installation.run(
        "documents", "produce", run[1], "--as", handler, "--out", str(out), "--copies", str(copies)
    )

    passwords = PASSWORD.findall(produced.err)
    assert len(passwords) == 1, produced.describe()
    password = passwords[0]
    assert password not in produced.out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not any(password.encode() in p.read_bytes() for p in installation.data.rglob("*.*"))
    checked = json.loads(installation.python(CHECK, str(out), password, str(copies)).out)
    assert checked["lines"] == checked["matched"] == EMPLOYEES, checked
    assert checked["copies_pages"] >= 1
    assert checked["copies_with_a_number"] == 0
    assert audit_entries(installation, "document.download", "ok") == EMPLOYEES

    again = installation.run(
        "documents", "produce", run[1], "--as", handler, "--out", str(out), expect=2, env=ENGLISH
    )
    assert "exists already" in again.err and "Traceback" not in again.err
    today = timezone.localdate().isoformat()  # the installation's time zone
    installation.run(
        "documents", "submitted", run[1], "--on", today, "--method", "eltax", "--as", handler
    )
    ledger = installation.run("documents", "list", "--company", company, "--csv").out
    assert f"{run[1]},withholding,{YEAR},eltax,,submitted," in ledger
    assert f",{EMPLOYEES},{today},eltax," in ledger


def test_a_user_without_the_role_is_refused_with_exit_2_and_the_refusal_audited(scene):
    installation, demo, payroll = scene
    staff = demo.users["staff"][0]
    args = ("documents", "prepare", "withholding", str(payroll))
    options = ("--company", str(demo.company_id), "--year", str(YEAR), "--as", staff)
    refused = installation.run(*args, *options, expect=2, env=ENGLISH)
    assert "Your role does not allow this." in refused.err
    assert "Traceback" not in refused.err and refused.out == ""
    assert audit_entries(installation, "document.prepare", "refused") == 1
    japanese = installation.run(*args, *options, expect=2)
    assert "Your role" not in japanese.err and "Traceback" not in japanese.err


def test_an_unreadable_file_exits_2_with_the_reason_and_prepares_nothing(scene, tmp_path):
    installation, demo, _ = scene
    binary = tmp_path / "export.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)))
    args = ("documents", "prepare", "withholding", str(binary), "--company")
    options = (str(demo.company_id), "--year", str(YEAR), "--as", demo.users["handler"][0])
    result = installation.run(*args, *options, expect=2, env=ENGLISH)
    assert "The file is not a CSV file in UTF-8 or Shift_JIS." in result.err
    assert "Traceback" not in result.err
    assert audit_entries(installation, "document.prepare", "failed") == 1
    with installation.connect("mnvault.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM usage_documentrun").fetchone()[0] == 0
