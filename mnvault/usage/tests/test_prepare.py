"""Preparing a run: the payroll file read, each row matched and its problems listed before
anything is produced; refusals audited."""

from __future__ import annotations

import pytest

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.collection.models import NumberRefusal
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import PersonPurpose
from mnvault.usage import runs
from mnvault.usage.layouts import unified_csv
from mnvault.usage.models import MatchState, RunStatus
from mnvault.usage.reading import UnreadableFile
from mnvault.usage.tests.factory import csv_bytes, staff, unified_row
from mnvault.vault.errors import Refused
from mnvault.vault.models import NumberRecord, NumberStatus

YEAR = 2025
pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def scene(personas, make_number):
    return staff(personas.company, personas.handler, make_number, 6)


def prepare(personas, rows, **kwargs):
    return runs.prepare_run(
        acting_user=kwargs.pop("user", personas.handler),
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes(rows),
        source_name="gensen.csv",
        **kwargs,
    )


def problems_of(run):
    return {row.line: [p["code"] for p in row.problems] for row in run.rows.all()}


def test_it_matches_rows_by_employee_code_and_relatives_by_name(personas, scene):
    run = prepare(personas, [unified_row(YEAR, s) for s in scene])
    rows = list(run.rows.all())
    assert run.status == RunStatus.PREPARED
    assert [r.person_id for r in rows] == [s.employee.pk for s in scene]
    assert {r.match for r in rows} == {MatchState.BY_CODE}
    assert rows[0].relatives == [d.pk for d in scene[0].dependents]
    assert problems_of(run) == {line: [] for line in range(1, 7)}


def test_a_row_without_code_is_matched_by_name_and_birth_date_to_be_confirmed(personas, scene):
    run = prepare(personas, [unified_row(YEAR, scene[1], code="")])
    row = run.rows.get()
    assert (row.person_id, row.match) == (scene[1].employee.pk, MatchState.TO_CONFIRM)
    assert problems_of(run) == {1: ["to_confirm"]}
    runs.set_row_match(acting_user=personas.handler, row=row, confirm=True)
    row.refresh_from_db()
    assert row.match == MatchState.CONFIRMED and row.problems == []


def test_an_unknown_employee_code_matched_by_name_says_so(personas, scene):
    run = prepare(personas, [unified_row(YEAR, scene[1], code="X999")])
    row = run.rows.get()
    assert (row.person_id, row.match) == (scene[1].employee.pk, MatchState.TO_CONFIRM)
    assert problems_of(run) == {1: ["code_unknown", "to_confirm"]}


def test_a_row_that_matches_nobody_is_listed(personas, scene):
    row = unified_row(YEAR, scene[1], code="X999", name="存在 しない")
    row[unified_csv.layout_for(YEAR).kana_name] = "ｿﾝｻﾞｲ ｼﾅｲ"
    run = prepare(personas, [row])
    assert problems_of(run) == {1: ["unmatched"]}


def test_people_without_usable_numbers_are_listed_with_the_reason(personas, scene):
    no_purpose, disposed, refused = scene[1].employee, scene[3].employee, scene[5].employee
    PersonPurpose.objects.filter(person=no_purpose).delete()
    NumberRecord.objects.filter(person=disposed).update(
        status=NumberStatus.DISPOSED, ciphertext=None
    )
    NumberRecord.objects.filter(person=refused).delete()
    NumberRefusal.objects.create(company=personas.company, person=refused, reason="本人拒否")
    run = prepare(personas, [unified_row(YEAR, s) for s in scene])
    found = problems_of(run)
    assert found[2] == ["purpose_not_notified_to_person"]
    assert found[4] == ["disposed"]
    assert found[6] == ["refused"]
    assert found[1] == found[3] == found[5] == []


def test_a_relative_mnvault_does_not_hold_is_a_warning_not_a_block(personas, scene):
    row = unified_row(YEAR, scene[0])
    layout_row = unified_row(YEAR, scene[1])  # no dependents
    layout = unified_csv.layout_for(YEAR)
    layout_row[layout.dependents[0].name] = "知らない 人"
    run = prepare(personas, [row, layout_row])
    assert problems_of(run)[2] == ["relative_unmatched"]
    assert run.rows.get(line=2).relatives == [None]


def test_characters_outside_jis_are_reported_with_a_suggestion(personas, scene):
    rows = [unified_row(YEAR, scene[0], name="髙橋 一郎"), unified_row(YEAR, scene[2])]
    rows[1][11] = "東京都𠮷野町"
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes(rows, "utf-8"),
    )
    first, second = (r.problems for r in run.rows.all())
    assert {"code": "jis", "column": 14, "char": "髙", "suggestion": "高"} in first
    assert any(p["code"] == "jis" and p["char"] == "𠮷" and not p["suggestion"] for p in second)


def test_a_file_holding_a_number_is_refused_whole_and_nothing_kept(personas, scene, make_number):
    rows = [unified_row(YEAR, s) for s in scene]
    rows[2][94] = make_number()
    with pytest.raises(UnreadableFile) as refused:
        prepare(personas, rows)
    assert refused.value.code == "holds_number"
    assert "3" in str(refused.value)
    from mnvault.usage.models import DocumentRun

    assert not DocumentRun.objects.exists()


def test_a_file_in_another_encoding_is_refused(personas, scene):
    data = "\r\n".join(",".join(unified_row(YEAR, s)) for s in scene).encode("utf-16")
    with pytest.raises(UnreadableFile) as refused:
        runs.prepare_run(
            acting_user=personas.handler,
            company=personas.company,
            kind="withholding",
            year=YEAR,
            data=data,
        )
    assert refused.value.code == "encoding"
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_PREPARE)
    assert (entry.outcome, entry.reason) == (Outcome.FAILED, "encoding")


def test_a_file_with_a_header_row_is_reported_on_that_line(personas, scene):
    header = ["法定資料の種類"] + ["項目"] * 146
    run = prepare(personas, [header, unified_row(YEAR, scene[0])])
    assert problems_of(run) == {1: ["input", "unmatched"], 2: []}


def test_a_year_without_a_known_layout_is_refused(personas, scene):
    with pytest.raises(runs.RunProblem) as refused:
        runs.prepare_run(
            acting_user=personas.handler,
            company=personas.company,
            kind="withholding",
            year=2030,
            data=csv_bytes([unified_row(YEAR, scene[0])]),
        )
    assert refused.value.code == "year"


@pytest.mark.parametrize(
    "role", ["staff", "auditor", "company_admin", "installation_admin", "other_handler"]
)
def test_roles_that_may_not_prepare_are_refused_and_audited(personas, scene, role):
    with pytest.raises(Refused):
        prepare(personas, [unified_row(YEAR, scene[0])], user=getattr(personas, role))
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_PREPARE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


def test_preparing_is_audited_with_counts_and_no_number(personas, scene):
    run = prepare(personas, [unified_row(YEAR, s) for s in scene])
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_PREPARE, outcome=Outcome.OK)
    assert entry.detail == {
        "document": "withholding",
        "year": YEAR,
        "run": run.pk,
        "rows": 6,
        "blocked": 0,
    }


def test_a_payee_run_matches_payees_only(personas, make_number):
    payee = make_person(personas.company, kind="payee", employee_code="P1")
    from mnvault.companies.models import CompanyPurpose
    from mnvault.usage.tests.factory import store

    CompanyPurpose.objects.create(company=personas.company, purpose=Purpose.FEE_PAYMENT_RECORDS)
    store(payee, make_number(), personas.handler, [Purpose.FEE_PAYMENT_RECORDS])
    data = (
        "支払先コード,氏名,住所,区分,細目,支払金額,源泉徴収税額\r\n"
        "P1,山田 太郎,東京都港区1-1,原稿料,雑誌,120000,12252\r\n"
        "E0001,佐藤 一郎,東京都港区1-2,原稿料,雑誌,80000,8168\r\n"
    ).encode("cp932")
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="payment_fees",
        year=YEAR,
        data=data,
        payer_address="東京都千代田区1-1",
    )
    assert problems_of(run) == {2: [], 3: ["unmatched"]}
