"""``mnvault import people FILE.csv --company … --user …``: the same importer from the command
line — a summary on success; on rejection every error as "N行目: …" on stderr, a CommandError,
and nothing stored."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES
from mnvault.people.models import Person, PersonPurpose
from mnvault.people.tests.helpers import (
    JAPANESE,
    NOTHING,
    assert_no_number_in,
    counts,
    import_entries,
    person,
    write_excel_cp932,
    write_people,
    wrong_check_digit,
)
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@dataclass
class Run:
    out: str
    err: str
    error: CommandError | None = None


def run_import(path, company, username: str, *extra: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import",
            "people",
            str(path),
            "--company",
            str(company.pk),
            "--user",
            username,
            *extra,
            stdout=out,
            stderr=err,
        )
    except CommandError as error:
        return Run(out.getvalue(), err.getvalue(), error)
    return Run(out.getvalue(), err.getvalue())


def test_the_command_imports_a_shift_jis_file_and_says_how_many(personas, make_number, tmp_path):
    numbers = [make_number(), make_number()]
    path = write_excel_cp932(
        tmp_path / "excel.csv",
        [person(employee_code=f"E{i}", number=n) for i, n in enumerate(numbers)],
        headings=JAPANESE,
    )

    run = run_import(path, personas.company, "handler")

    assert run.error is None, run.err
    assert "2人と個人番号2件を取り込みました (cp932)。" in run.out
    imported = Person.objects.get(employee_code="E1")
    assert (
        reveal_number(acting_user=personas.handler, person=imported, purpose="withholding")
        == numbers[1]
    )
    assert_no_number_in([run.out, run.err], numbers)
    assert [e.outcome for e in import_entries()] == ["ok"]


def test_the_command_finds_the_company_by_name(personas, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001")])
    out = io.StringIO()

    call_command(
        "import",
        "people",
        str(path),
        "--company",
        personas.company.name,
        "--user",
        "responsible_manager",
        stdout=out,
        stderr=io.StringIO(),
    )

    assert "1人と個人番号0件を取り込みました" in out.getvalue()
    assert Person.objects.get(employee_code="E001").company == personas.company


def test_the_command_lists_every_error_with_its_line_and_stores_nothing(
    personas, make_number, tmp_path
):
    first, second = make_number(), make_number()
    path = write_people(
        tmp_path / "bad.csv",
        [
            person(employee_code="E001", number=first),
            person(employee_code="E002", number=wrong_check_digit(second)),
            person(employee_code="E003", number=first),
            person(employee_code="E004", hire_date="2024-02-30"),
        ],
    )

    run = run_import(path, personas.company, "handler")

    assert run.error is not None
    lines = run.err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["3行目", "4行目", "5行目"]
    assert "チェックディジット" in lines[0]
    assert "2行目と重複" in lines[1]
    assert "入社日: 日付ではありません" in lines[2]
    assert str(run.error) == "3件のエラーのため、何も登録していません。"
    assert counts() == NOTHING
    assert [e.outcome for e in import_entries()] == ["failed"]
    assert_no_number_in([run.out, run.err, str(run.error)], [first, second])


def test_the_command_says_how_many_errors_it_did_not_list(personas, tmp_path, monkeypatch):
    from mnvault.people import csv_import

    monkeypatch.setattr(csv_import, "MAX_REPORTED", 2)
    path = write_people(
        tmp_path / "many.csv", [person(employee_code=f"E{i}", birth_date="?") for i in range(5)]
    )

    run = run_import(path, personas.company, "handler")

    assert run.err.splitlines()[-1] == "… ほか3件のエラー"
    assert run.err.count("行目: ") == 2


def test_the_command_reports_a_file_in_the_wrong_encoding(personas, tmp_path):
    path = tmp_path / "random.csv"
    path.write_bytes(b"\x81\x20\x85\x40\xef\xbb")

    run = run_import(path, personas.company, "handler")

    assert run.error is not None
    assert run.err.startswith("0行目: ")
    assert "UTF-8 でも Shift_JIS (CP932) でもありません" in run.err
    assert counts() == NOTHING


@pytest.mark.parametrize("who", ["staff", "company_admin", "auditor", "no_role"])
def test_the_command_refuses_a_user_without_a_number_role(personas, make_number, tmp_path, who):
    number = make_number()
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=number)])

    run = run_import(path, personas.company, who)

    assert run.error is not None
    assert "事務取扱担当者・責任者だけが個人番号を扱えます" in str(run.error)
    assert counts() == NOTHING
    entry = AuditEntry.objects.get(outcome="refused")
    assert entry.actor_id == getattr(personas, who).pk
    assert_no_number_in([run.out, run.err, str(run.error)], [number])


def test_the_command_refuses_a_handler_of_another_company(personas, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001")])

    run = run_import(path, personas.company, "other_handler")

    assert run.error is not None
    assert counts() == NOTHING
    assert AuditEntry.objects.get(outcome="refused").company_id == personas.company.pk


def test_the_command_notifies_only_the_purposes_it_is_given(personas, make_number, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=make_number())])

    run = run_import(path, personas.company, "handler", "--purposes", "withholding")

    assert run.error is None, run.err
    assert list(PersonPurpose.objects.values_list("purpose", flat=True)) == [Purpose.WITHHOLDING]


@pytest.mark.parametrize(
    ("purposes", "fragment"),
    [
        ("payroll", "利用目的が不明です"),
        ("employment_insurance", "会社が公表していない利用目的があります"),
    ],
)
def test_the_command_refuses_purposes_the_company_does_not_notify(
    personas, tmp_path, purposes, fragment
):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001")])

    run = run_import(path, personas.company, "handler", "--purposes", purposes)

    assert run.error is not None
    assert fragment in str(run.error)
    assert counts() == NOTHING


def test_the_command_refuses_an_unknown_user_company_or_file(personas, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001")])

    assert run_import(path, personas.company, "nobody").error is not None
    assert run_import(tmp_path / "missing.csv", personas.company, "handler").error is not None
    with pytest.raises(CommandError):
        call_command(
            "import",
            "people",
            str(path),
            "--company",
            "no such company",
            "--user",
            "handler",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert counts() == NOTHING


def test_the_command_signs_the_audit_head_after_an_import(personas, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001")])

    run_import(path, personas.company, "handler")

    last = AuditEntry.objects.latest("seq")
    assert AuditCheckpoint.objects.filter(seq=last.seq, entry_hash=last.entry_hash).exists()


def test_the_command_speaks_one_language_english_when_asked(personas, make_number, tmp_path):
    good = write_people(tmp_path / "g.csv", [person(employee_code="E1", number=make_number())])
    bad = write_people(tmp_path / "b.csv", [person(employee_code="E2", hire_date="tomorrow")])

    with translation.override("en"):
        imported = run_import(good, personas.company, "handler")
        refused = run_import(bad, personas.company, "handler")

    assert "Imported 1 people and 1 numbers (utf-8-sig)." in imported.out
    assert refused.err.startswith("line 2: Hire date: Not a date")
    for text in (imported.out, refused.err):
        assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text
