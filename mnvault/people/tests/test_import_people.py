"""Importing people and their numbers from a CSV file: encodings spreadsheets write, Japanese and
English headings, normalised numbers, dependents, purposes, and the one audit entry."""

from __future__ import annotations

from datetime import date

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES
from mnvault.people import csv_import
from mnvault.people.csv_import import import_people
from mnvault.people.models import Person, PersonKind, PersonPurpose, Relationship
from mnvault.people.tests.helpers import (
    COLUMNS,
    JAPANESE,
    NOTHING,
    assert_no_number_in,
    counts,
    import_entries,
    person,
    rejected,
    write_excel_cp932,
    write_lines,
    write_people,
)
from mnvault.vault.errors import Refused
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus, VerificationChannel
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def reveal(personas, code: str, purpose: str = Purpose.WITHHOLDING) -> str:
    imported = Person.objects.get(company=personas.company, employee_code=code)
    return reveal_number(acting_user=personas.handler, person=imported, purpose=purpose)


def test_it_imports_people_from_utf8_and_their_numbers_can_be_revealed(
    personas, make_number, tmp_path
):
    first, second = make_number(), make_number()
    path = write_people(
        tmp_path / "people.csv",
        [
            person(
                employee_code="E001",
                birth_date="1980-04-01",
                hire_date="2010-04-01",
                number=first,
            ),
            person(employee_code="E002", family_name="佐藤", given_name="花子", number=second),
        ],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.rows, report.people, report.numbers, report.errors) == (2, 2, 2, [])
    assert report.encoding == "utf-8-sig"
    yamada = Person.objects.get(company=personas.company, employee_code="E001")
    assert (yamada.kind, yamada.family_name, yamada.given_name) == ("employee", "山田", "太郎")
    assert (yamada.family_name_kana, yamada.given_name_kana) == ("ヤマダ", "タロウ")
    assert (yamada.birth_date, yamada.hire_date) == (date(1980, 4, 1), date(2010, 4, 1))
    assert reveal(personas, "E001") == first
    assert reveal(personas, "E002") == second


def test_numbers_are_stored_encrypted_with_a_key_in_the_key_store(personas, make_number, tmp_path):
    number = make_number()
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=number)])

    import_people(path, acting_user=personas.handler, company=personas.company)

    imported = Person.objects.get(employee_code="E001")
    record = NumberRecord.objects.get(person=imported)
    assert record.status == NumberStatus.ACTIVE
    assert record.channel == VerificationChannel.IMPORT
    assert record.ciphertext is not None
    assert number.encode() not in bytes(record.ciphertext)
    assert DataKey.objects.using("keys").filter(person_id=imported.pk).count() == 1


def test_it_reads_utf8_with_a_byte_order_mark(personas, make_number, tmp_path):
    number = make_number()
    path = write_people(
        tmp_path / "bom.csv",
        [person(employee_code="E001", number=number)],
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.encoding) == (1, "utf-8-sig")
    assert reveal(personas, "E001") == number


def test_it_reads_shift_jis_with_japanese_headings_as_excel_writes_it(
    personas, make_number, tmp_path
):
    first, second = make_number(), make_number()
    path = write_excel_cp932(
        tmp_path / "excel.csv",
        [
            person(kind="従業員", employee_code="E001", birth_date="1980/4/1", number=first),
            person(
                kind="従業員",
                employee_code="E002",
                family_name="髙橋",
                given_name="次郎",
                family_name_kana="ﾀｶﾊｼ",
                given_name_kana="ｼﾞﾛｳ",
                number=second,
            ),
        ],
        headings=JAPANESE,
    )
    assert b"\r\n" in path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.numbers, report.encoding) == (2, 2, "cp932")
    takahashi = Person.objects.get(employee_code="E002")
    assert (takahashi.family_name, takahashi.given_name) == ("髙橋", "次郎")
    assert (takahashi.family_name_kana, takahashi.given_name_kana) == ("ﾀｶﾊｼ", "ｼﾞﾛｳ")
    assert Person.objects.get(employee_code="E001").birth_date == date(1980, 4, 1)
    assert reveal(personas, "E001") == first
    assert reveal(personas, "E002") == second


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(
            lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            id="full-width digits",
        ),
        pytest.param(lambda n: f"{n[:4]} {n[4:8]} {n[8:]}", id="spaces"),
        pytest.param(lambda n: f"{n[:4]}\u3000{n[4:8]}\u3000{n[8:]}", id="ideographic spaces"),
        pytest.param(lambda n: f"{n[:4]}-{n[4:8]}-{n[8:]}", id="hyphens"),
        pytest.param(lambda n: f"{n[:4]}－{n[4:8]}－{n[8:]}", id="full-width hyphens"),
        pytest.param(lambda n: f" {n} ", id="surrounding spaces"),
        pytest.param(
            lambda n: "－".join(
                n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))[i : i + 4]
                for i in (0, 4, 8)
            ),
            id="full-width digits and hyphens",
        ),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_numbers_are_normalised_before_they_are_stored(
    personas, make_number, tmp_path, spelling, encoding
):
    number = make_number()
    typed = spelling(number)
    assert typed != number
    path = write_people(
        tmp_path / "typed.csv",
        [person(employee_code="E001", number=typed)],
        encoding=encoding,
        newline="\r\n" if encoding == "cp932" else "\n",
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert report.numbers == 1
    assert reveal(personas, "E001") == number


@pytest.mark.parametrize(
    "headings",
    [
        pytest.param(("kind", "employee_code", "family_name", "given_name", "number"), id="en"),
        pytest.param(("区分", "社員番号", "姓", "名", "個人番号"), id="ja"),
        pytest.param(("種別", "従業員番号", "氏", "名", "マイナンバー"), id="ja-aliases"),
        pytest.param(
            ("Kind", "Employee Code", "Family Name", "Given Name", "NUMBER"), id="en-case"
        ),
        pytest.param((" 区分 ", "社員番号", "姓", "名", "個人番号"), id="ja-padded"),
    ],
)
def test_it_accepts_english_and_japanese_headings(personas, make_number, tmp_path, headings):
    number = make_number()
    path = write_people(
        tmp_path / "h.csv",
        [person(employee_code="E001", number=number)],
        columns=("kind", "employee_code", "family_name", "given_name", "number"),
        headings=headings,
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert report.people == 1
    imported = Person.objects.get(employee_code="E001")
    assert (imported.family_name, imported.given_name) == ("山田", "太郎")
    assert reveal(personas, "E001") == number


def test_kana_headings_with_full_width_parentheses_are_recognised(personas, tmp_path):
    path = write_people(
        tmp_path / "kana.csv",
        [person(employee_code="E001")],
        columns=(
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "employee_code",
        ),
        headings=("姓", "名", "姓（カナ）", "名（カナ）", "社員番号"),
    )

    import_people(path, acting_user=personas.handler, company=personas.company)

    imported = Person.objects.get(employee_code="E001")
    assert (imported.family_name_kana, imported.given_name_kana) == ("ヤマダ", "タロウ")


def test_only_name_columns_are_required_and_every_row_without_kind_is_an_employee(
    personas, tmp_path
):
    path = write_people(
        tmp_path / "names.csv",
        [person(), person(family_name="佐藤")],
        columns=("family_name", "given_name"),
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.numbers) == (2, 0)
    assert set(Person.objects.values_list("kind", flat=True)) == {PersonKind.EMPLOYEE}


def test_a_person_without_a_number_is_imported_without_number_or_key(
    personas, make_number, tmp_path
):
    number = make_number()
    path = write_people(
        tmp_path / "p.csv",
        [person(employee_code="E001", number=number), person(employee_code="E002", number="")],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.numbers) == (2, 1)
    without = Person.objects.get(employee_code="E002")
    assert not NumberRecord.objects.filter(person=without).exists()
    assert not DataKey.objects.using("keys").filter(person_id=without.pk).exists()
    assert not PersonPurpose.objects.filter(person=without).exists()


def test_blank_lines_are_skipped(personas, make_number, tmp_path):
    number = make_number()
    path = write_lines(
        tmp_path / "blank.csv",
        ["family_name,given_name,employee_code,number", "", "山田,太郎,E001," + number, ",,,", ""],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.rows, report.people) == (1, 1)


def test_dates_are_read_in_the_forms_spreadsheets_write(personas, tmp_path):
    path = write_people(
        tmp_path / "dates.csv",
        [
            person(employee_code="E001", birth_date="1980-04-01", hire_date="2010/4/1"),
            person(employee_code="E002", birth_date="１９８１－０５－０２", hire_date="2011.05.02"),
        ],
    )

    import_people(path, acting_user=personas.handler, company=personas.company)

    first = Person.objects.get(employee_code="E001")
    second = Person.objects.get(employee_code="E002")
    assert (first.birth_date, first.hire_date) == (date(1980, 4, 1), date(2010, 4, 1))
    assert (second.birth_date, second.hire_date) == (date(1981, 5, 2), date(2011, 5, 2))


def test_a_full_width_employee_code_is_stored_half_width(personas, tmp_path):
    path = write_people(tmp_path / "code.csv", [person(employee_code="Ｅ００１")])

    import_people(path, acting_user=personas.handler, company=personas.company)

    assert Person.objects.filter(employee_code="E001").count() == 1


# --- dependents -------------------------------------------------------------------------------


def test_a_dependent_is_linked_to_an_employee_already_stored(personas, make_number, tmp_path):
    employee = Person.objects.create(
        company=personas.company,
        kind="employee",
        family_name="山田",
        given_name="太郎",
        employee_code="E001",
    )
    number = make_number()
    path = write_people(
        tmp_path / "dep.csv",
        [
            person(
                kind="dependent",
                given_name="花子",
                dependent_of="E001",
                relationship="spouse",
                number=number,
            )
        ],
    )

    import_people(path, acting_user=personas.handler, company=personas.company)

    spouse = Person.objects.get(given_name="花子")
    assert (spouse.kind, spouse.employee_id, spouse.relationship) == (
        PersonKind.DEPENDENT,
        employee.pk,
        Relationship.SPOUSE,
    )
    assert reveal_number(acting_user=personas.handler, person=spouse, purpose="withholding") == (
        number
    )


def test_dependents_are_linked_to_an_employee_on_an_earlier_line_of_the_same_file(
    personas, make_number, tmp_path
):
    numbers = [make_number() for _ in range(3)]
    path = write_people(
        tmp_path / "family.csv",
        [
            person(employee_code="E001", number=numbers[0]),
            person(
                kind="dependent",
                given_name="花子",
                dependent_of="E001",
                relationship="配偶者",
                number=numbers[1],
            ),
            person(
                kind="扶養親族",
                given_name="一郎",
                dependent_of="Ｅ００１",
                relationship="長男",
                number=numbers[2],
            ),
        ],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.numbers) == (3, 3)
    employee = Person.objects.get(employee_code="E001")
    assert {(p.given_name, p.relationship) for p in Person.objects.filter(employee=employee)} == {
        ("花子", Relationship.SPOUSE),
        ("一郎", Relationship.CHILD),
    }


def test_dependents_find_their_employee_in_an_earlier_batch(
    personas, make_number, tmp_path, monkeypatch
):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    path = write_people(
        tmp_path / "batches.csv",
        [
            person(employee_code="E001", number=make_number()),
            person(employee_code="E002", number=make_number()),
            person(kind="dependent", given_name="花子", dependent_of="E001", relationship="妻"),
            person(kind="dependent", given_name="次郎", dependent_of="E002", relationship="子"),
        ],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert report.people == 4
    employee = Person.objects.get(given_name="次郎").employee
    assert employee is not None and employee.employee_code == "E002"


# --- purposes ---------------------------------------------------------------------------------


def test_imported_people_are_notified_every_purpose_of_the_company_by_default(
    personas, make_number, tmp_path
):
    number = make_number()
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=number)])

    import_people(path, acting_user=personas.handler, company=personas.company)

    imported = Person.objects.get(employee_code="E001")
    assert set(imported.purposes.values_list("purpose", flat=True)) == {
        Purpose.WITHHOLDING,
        Purpose.SOCIAL_INSURANCE,
    }
    assert reveal(personas, "E001", Purpose.SOCIAL_INSURANCE) == number


def test_without_purposes_each_kind_of_person_is_notified_only_the_purposes_of_its_kind(
    personas, make_number, tmp_path
):
    """A payee never gets an employee's purposes, nor an employee a payment record's (domain
    R11); a dependent only the declaration's and health insurance's (R23)."""
    from mnvault.companies.models import CompanyPurpose

    for extra in (Purpose.EMPLOYMENT_INSURANCE, Purpose.FEE_PAYMENT_RECORDS):
        CompanyPurpose.objects.create(company=personas.company, purpose=extra)
    path = write_people(
        tmp_path / "p.csv",
        [
            person(employee_code="E001", number=make_number()),
            person(
                kind="dependent",
                given_name="花子",
                dependent_of="E001",
                relationship="妻",
                number=make_number(),
            ),
            person(kind="payee", family_name="鈴木", number=make_number()),
        ],
    )

    import_people(path, acting_user=personas.handler, company=personas.company)

    def notified(kind: str) -> set[str]:
        found = Person.objects.get(company=personas.company, kind=kind)
        return set(found.purposes.values_list("purpose", flat=True))

    assert notified(PersonKind.EMPLOYEE) == {
        Purpose.WITHHOLDING,
        Purpose.SOCIAL_INSURANCE,
        Purpose.EMPLOYMENT_INSURANCE,
    }
    assert notified(PersonKind.DEPENDENT) == {Purpose.WITHHOLDING, Purpose.SOCIAL_INSURANCE}
    assert notified(PersonKind.PAYEE) == {Purpose.FEE_PAYMENT_RECORDS}


def test_a_number_of_a_kind_the_company_notifies_no_purpose_for_is_refused(
    personas, make_number, tmp_path
):
    """The test company notifies only employees' purposes: a payee's number has nothing it
    could be kept for, and nothing of the file is stored."""
    path = write_people(
        tmp_path / "p.csv",
        [
            person(employee_code="E001", number=make_number()),
            person(kind="payee", family_name="鈴木", number=make_number()),
        ],
    )

    problem = rejected(path, acting_user=personas.handler, company=personas.company)

    assert problem.report.errors == [
        (3, "会社が公表している利用目的に、この区分の人に合うものがありません。")
    ]
    assert counts() == NOTHING


def test_a_number_imported_for_one_purpose_cannot_be_revealed_for_another(
    personas, make_number, tmp_path
):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=make_number())])

    import_people(
        path,
        acting_user=personas.handler,
        company=personas.company,
        default_purposes=[Purpose.WITHHOLDING],
    )

    with pytest.raises(Refused) as refused:
        reveal(personas, "E001", Purpose.SOCIAL_INSURANCE)
    assert refused.value.code == "purpose_not_notified_to_person"


# --- audit ------------------------------------------------------------------------------------


def test_a_successful_import_writes_exactly_one_audit_entry_without_any_number(
    personas, make_number, tmp_path
):
    numbers = [make_number(), make_number()]
    path = write_people(
        tmp_path / "p.csv",
        [person(employee_code=f"E00{i}", number=n) for i, n in enumerate(numbers)],
    )
    before = AuditEntry.objects.count()

    import_people(path, acting_user=personas.handler, company=personas.company)

    assert AuditEntry.objects.count() == before + 1
    (entry,) = import_entries()
    assert (entry.outcome, entry.actor_id, entry.company_id) == (
        "ok",
        personas.handler.pk,
        personas.company.pk,
    )
    assert (entry.detail["people"], entry.detail["numbers"]) == (2, 2)
    assert_no_number_in([str(entry.detail), entry.reason], numbers)


def test_progress_is_reported_for_every_row(personas, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    path = write_people(tmp_path / "p.csv", [person(employee_code=f"E{i}") for i in range(5)])
    seen: list[int] = []

    import_people(
        path, acting_user=personas.handler, company=personas.company, progress=seen.append
    )

    assert seen == [2, 2, 1]


# --- companies --------------------------------------------------------------------------------


def test_the_same_number_imports_in_two_companies(personas, make_number, tmp_path):
    number = make_number()
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=number)])

    import_people(path, acting_user=personas.handler, company=personas.company)
    import_people(path, acting_user=personas.other_handler, company=personas.other_company)

    assert NumberRecord.objects.count() == 2
    theirs = Person.objects.get(company=personas.other_company, employee_code="E001")
    assert (
        reveal_number(acting_user=personas.other_handler, person=theirs, purpose="withholding")
        == number
    )
    assert reveal(personas, "E001") == number


def test_nothing_is_stored_in_another_company(personas, make_number, tmp_path):
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=make_number())])

    import_people(path, acting_user=personas.handler, company=personas.company)

    assert not Person.objects.filter(company=personas.other_company).exists()
    assert not NumberRecord.objects.filter(company=personas.other_company).exists()
    assert counts() != NOTHING


def test_columns_in_any_order_are_read_by_heading(personas, make_number, tmp_path):
    number = make_number()
    order = tuple(reversed(COLUMNS))
    path = write_people(
        tmp_path / "rev.csv",
        [person(employee_code="E001", number=number)],
        columns=order,
        headings=tuple(reversed(JAPANESE)),
    )

    import_people(path, acting_user=personas.handler, company=personas.company)

    assert Person.objects.get(employee_code="E001").family_name == "山田"
    assert reveal(personas, "E001") == number
