"""A file with anything wrong is refused whole: every bad row is named with its line and reason,
nothing is stored (people, numbers, keys in the key store, purposes), one "failed" audit entry is
written, and no message repeats a number of the file."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people import csv_import
from mnvault.people.csv_import import ImportRejected, import_people
from mnvault.people.models import Person
from mnvault.people.tests.helpers import (
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
    wrong_check_digit,
)
from mnvault.vault.bulk import BulkStore
from mnvault.vault.services import Verification, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def by_line(error: ImportRejected) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for line, message in error.report.errors:
        found.setdefault(line, []).append(message)
    return found


def messages_of(error: ImportRejected) -> list[str]:
    return [message for _, message in error.report.errors] + [str(error)]


def stored_number(personas, number: str, *, company=None, code: str = "S001"):
    """A person of ``company`` whose number is already in the vault."""
    company = company or personas.company
    handler = personas.handler if company == personas.company else personas.other_handler
    existing = make_person(company, employee_code=code)
    store_number(
        acting_user=handler,
        person=existing,
        number=number,
        purposes=[Purpose.WITHHOLDING],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    return existing


def test_it_reports_every_bad_row_with_its_line_and_stores_nothing(personas, make_number, tmp_path):
    n = [make_number() for _ in range(8)]
    stored_number(personas, n[7])
    before = counts()
    rows = [
        person(employee_code="E001", number=n[0]),  # line 2: fine
        person(employee_code="E002", number=wrong_check_digit(n[1])),  # 3
        person(employee_code="E003", number=n[2][:11]),  # 4: eleven digits
        person(employee_code="E004", number=n[0]),  # 5: same number as line 2
        person(employee_code="E001", number=n[3]),  # 6: same code as line 2
        person(employee_code="E005", birth_date="2024-13-01", number=n[4]),  # 7
        person(employee_code="E006", hire_date="2020-04-01", leave_date="2019-03-31"),  # 8
        person(employee_code="E007", kind="manager"),  # 9
        person(employee_code="E008", given_name=""),  # 10
        person(kind="dependent", dependent_of="E999", relationship="spouse"),  # 11
        person(employee_code="E009", relationship="いとこ", number=n[5]),  # 12
        person(employee_code="E010", number=n[6][:10] + "AB"),  # 13
        person(employee_code="E011", number=n[7]),  # 14: stored already
    ]
    path = write_people(tmp_path / "bad.csv", rows)

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    found = by_line(error)
    assert sorted(found) == list(range(3, 15))
    expected = {  # in Japanese, the default language
        3: "チェックディジット",
        4: "12桁",
        5: "個人番号が2行目と重複",
        6: "社員番号が2行目と重複",
        7: "生年月日: 日付ではありません",
        8: "退職日が入社日より前です",
        9: "区分が不明です",
        10: "名: 必須です",
        11: "この社員番号の従業員がいません",
        12: "続柄が不明です",
        13: "数字だけ",
        14: "登録済み",
    }
    for line, fragment in expected.items():
        assert any(fragment in m for m in found[line]), (line, found[line])
    assert error.report.error_count == len(error.report.errors)
    assert counts() == before
    assert_no_number_in(messages_of(error), [*n, wrong_check_digit(n[1])])


def test_line_numbers_count_blank_lines_and_the_header(personas, make_number, tmp_path):
    number = make_number()
    path = write_lines(
        tmp_path / "gaps.csv",
        [
            "family_name,given_name,number",
            "",
            "山田,太郎,",
            "",
            "",
            "佐藤,花子," + wrong_check_digit(number),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [6]
    assert counts() == NOTHING


def test_several_kinds_of_errors_in_a_shift_jis_file_are_all_reported(
    personas, make_number, tmp_path
):
    first, second = make_number(), make_number()
    path = write_excel_cp932(
        tmp_path / "excel.csv",
        [
            person(employee_code="E001", number=first),
            person(employee_code="E002", number=wrong_check_digit(second)),
            person(employee_code="E003", number="１２３４"),
            person(
                employee_code="E004",
                number=first.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            ),
            person(employee_code="E005", birth_date="令和2年4月1日"),
        ],
        headings=JAPANESE,
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    found = by_line(error)
    assert sorted(found) == [3, 4, 5, 6]
    assert "チェックディジット" in found[3][0]
    assert "12桁" in found[4][0]
    assert "2行目と重複" in found[5][0]
    assert "1988/7/7 のように年・月・日で書いてください" in found[6][0]
    assert counts() == NOTHING
    assert_no_number_in(messages_of(error), [first, second, wrong_check_digit(second)])


def test_the_errors_are_in_english_for_an_english_user(personas, make_number, tmp_path):
    number = make_number()
    path = write_people(
        tmp_path / "bad.csv",
        [
            person(employee_code="E001", number=number),
            person(employee_code="E001", number=number),
            person(employee_code="E002", kind="manager", birth_date="tomorrow"),
        ],
    )

    with translation.override("en"):
        error = rejected(path, acting_user=personas.handler, company=personas.company)
        summary = str(error)

    assert error.report.errors == [
        (3, "The employee code duplicates line 2."),
        (3, "The number duplicates line 2."),
        (4, "Unknown kind (employee, dependent or payee)."),
        (4, "Birth date: Not a date: write year, month and day, such as 1988-07-07 or 1988/7/7."),
    ]
    assert summary == "Nothing was stored: 4 errors."
    assert_no_number_in(messages_of(error), [number])


# --- duplicates -------------------------------------------------------------------------------


def test_a_number_repeated_in_another_spelling_is_a_duplicate(personas, make_number, tmp_path):
    number = make_number()
    spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"
    path = write_people(
        tmp_path / "dup.csv",
        [
            person(employee_code="E001", number=number),
            person(employee_code="E002"),
            person(employee_code="E003", number=spaced),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [4]
    assert "2行目と重複" in error.report.errors[0][1]
    assert counts() == NOTHING
    assert_no_number_in(messages_of(error), [number, spaced])


def test_a_number_already_stored_in_the_company_is_refused(personas, make_number, tmp_path):
    number = make_number()
    stored_number(personas, number)
    before = counts()
    path = write_people(
        tmp_path / "again.csv",
        [
            person(employee_code="E001", number=make_number()),
            person(employee_code="E002", number=number),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [(line, "登録済み" in m) for line, m in error.report.errors] == [(3, True)]
    assert counts() == before
    assert_no_number_in(messages_of(error), [number])


def test_a_number_stored_only_in_another_company_is_not_a_duplicate(
    personas, make_number, tmp_path
):
    number = make_number()
    stored_number(personas, number, company=personas.other_company)
    path = write_people(tmp_path / "p.csv", [person(employee_code="E001", number=number)])

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert report.numbers == 1


def test_duplicates_are_found_across_batches(personas, make_number, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    number = make_number()
    path = write_people(
        tmp_path / "far.csv",
        [
            person(employee_code="E001", number=number),
            person(employee_code="E002", number=make_number()),
            person(employee_code="E003", number=make_number()),
            person(employee_code="E004", number=make_number()),
            person(employee_code="E001", number=make_number()),
            person(employee_code="E006", number=number),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [
        (6, "社員番号が2行目と重複しています。"),
        (7, "個人番号が2行目と重複しています。"),
    ]
    assert counts() == NOTHING


def test_an_employee_code_already_stored_in_the_company_is_refused(personas, tmp_path):
    make_person(personas.company, employee_code="E001")
    make_person(personas.other_company, employee_code="E002")
    path = write_people(
        tmp_path / "codes.csv", [person(employee_code="E002"), person(employee_code="Ｅ００１")]
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [(3, "この社員番号は登録済みです。")]
    assert counts()["people"] == 2


def test_importing_the_same_file_twice_adds_no_payee_or_dependent_twice(
    personas, make_number, tmp_path
):
    """People without an employee code are matched by kind, name, birth date and employee:
    a second import of the same file reports every one of them and adds nobody."""
    rows = [
        person(employee_code="E001", birth_date="1980-01-01"),
        person(
            kind="dependent",
            given_name="花子",
            birth_date="2015-05-05",
            dependent_of="E001",
            relationship="子",
        ),
        person(kind="payee", family_name="鈴木", given_name="一郎", birth_date="1970-02-02"),
        person(kind="payee", family_name="鈴木", given_name="二郎"),
    ]
    path = write_people(tmp_path / "same.csv", rows)
    import_people(path, acting_user=personas.handler, company=personas.company)
    before = counts()

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [
        (2, "この社員番号は登録済みです。"),
        (3, "この人は登録済みです (氏名・生年月日・区分が同じ)。"),
        (4, "この人は登録済みです (氏名・生年月日・区分が同じ)。"),
        (5, "この人は登録済みです (氏名・生年月日・区分が同じ)。"),
    ]
    assert counts() == before


def test_the_same_payee_twice_in_one_file_is_reported_with_its_first_line(
    personas, make_number, tmp_path, monkeypatch
):
    monkeypatch.setattr(csv_import, "BATCH", 2)  # the first line is in an earlier batch
    path = write_people(
        tmp_path / "twice.csv",
        [
            person(kind="payee", family_name="鈴木", birth_date="1970-02-02"),
            person(employee_code="E001"),
            person(kind="payee", family_name="鈴木", birth_date="1970-02-02"),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [(4, "同じ人 (氏名・生年月日・区分) が2行目にあります。")]
    assert counts() == NOTHING


def test_namesakes_who_differ_in_birth_date_kind_or_employee_are_different_people(
    personas, tmp_path
):
    path = write_people(
        tmp_path / "namesakes.csv",
        [
            person(employee_code="E001"),
            person(employee_code="E002", given_name="次郎"),
            person(kind="payee", birth_date="1970-02-02"),
            person(kind="payee", birth_date="1971-03-03"),
            person(kind="dependent", dependent_of="E001", relationship="子"),
            person(kind="dependent", dependent_of="E002", relationship="子"),
        ],
    )

    report = import_people(path, acting_user=personas.handler, company=personas.company)

    assert (report.people, report.errors) == (6, [])


# --- dependents -------------------------------------------------------------------------------


def test_a_dependent_of_an_unknown_employee_code_is_an_error(personas, tmp_path):
    make_person(personas.other_company, employee_code="E001")
    path = write_people(
        tmp_path / "orphan.csv",
        [person(kind="dependent", given_name="花子", dependent_of="E001", relationship="spouse")],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [2]
    assert "この社員番号の従業員がいません" in error.report.errors[0][1]
    assert counts()["people"] == 1


def test_a_dependent_listed_before_its_employee_is_an_error(personas, tmp_path):
    path = write_people(
        tmp_path / "order.csv",
        [
            person(kind="dependent", given_name="花子", dependent_of="E001", relationship="spouse"),
            person(employee_code="E001"),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [2]
    assert counts() == NOTHING


def test_a_dependent_needs_a_relationship_and_an_employee_cannot_have_one(personas, tmp_path):
    make_person(personas.company, employee_code="E001")
    path = write_people(
        tmp_path / "rel.csv",
        [
            person(kind="dependent", given_name="花子", dependent_of="E001"),
            person(employee_code="E002", dependent_of="E001"),
            person(kind="dependent", given_name="一郎", relationship="child"),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    found = by_line(error)
    assert sorted(found) == [2, 3, 4]
    assert "続柄を入力してください" in " ".join(found[2])
    assert "従業員に属するのは扶養親族だけです" in " ".join(found[3])
    assert "扶養親族には扶養元の従業員が必要です" in " ".join(found[4])


# --- columns, empty files, dates, encodings ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("family_name,number", "必須の列がありません: given_name"),
        ("社員番号,個人番号", "必須の列がありません: family_name, given_name"),
        ("姓,名,住所,個人番号", "不明な列 #3「住所」"),
        ("姓,名,family_name,個人番号", "列 #3「family_name」 が重複"),
    ],
)
def test_a_bad_header_is_reported_on_line_1_and_nothing_is_stored(
    personas, make_number, tmp_path, header, fragment
):
    number = make_number()
    path = write_lines(tmp_path / "head.csv", [header, f"山田,太郎,x,{number}"])

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [1]
    assert fragment in error.report.errors[0][1]
    assert counts() == NOTHING
    assert_no_number_in(messages_of(error), [number])


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="no bytes"),
        pytest.param(b"\xef\xbb\xbf", id="byte order mark only"),
        pytest.param(b"\r\n\r\n,,\r\n", id="blank lines only"),
    ],
)
def test_an_empty_file_is_refused(personas, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [(1, "ファイルが空です。")]
    assert [e.outcome for e in import_entries()] == ["failed"]


NOT_A_DATE = "日付ではありません。1988-07-07 や 1988/7/7 のように年・月・日で書いてください。"


@pytest.mark.parametrize(
    "written", ["2024-13-01", "2023-02-29", "2024-04", "令和6年4月1日", "01/04/2024", "tomorrow"]
)
def test_a_bad_date_is_reported_with_its_column_and_line(personas, tmp_path, written):
    """The column by its label in the user's language, and the forms a date may take."""
    path = write_people(
        tmp_path / "dates.csv",
        [person(employee_code="E001"), person(employee_code="E002", hire_date=written)],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors == [(3, f"入社日: {NOT_A_DATE}")]
    assert counts() == NOTHING


@pytest.mark.parametrize("written", ["1988-07-07", "1988/7/7", "1988.7.7", "１９８８／７／７"])
def test_the_date_forms_the_message_offers_are_accepted(personas, tmp_path, written):
    path = write_people(tmp_path / "d.csv", [person(employee_code="E1", birth_date=written)])

    import_people(path, acting_user=personas.handler, company=personas.company)

    assert Person.objects.get(employee_code="E1").birth_date == date(1988, 7, 7)


def test_a_contract_that_ends_before_it_starts_is_refused(personas, tmp_path):
    path = write_people(
        tmp_path / "payee.csv",
        [person(kind="payee", contract_start="2025-04-01", contract_end="2025-03-31")],
        columns=("kind", "family_name", "given_name", "contract_start", "contract_end"),
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [2]
    assert "契約終了日が開始日より前です" in error.report.errors[0][1]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"family_name,given_name\n\x81\x20\x85\x40,x\n", id="bytes invalid in both"),
        pytest.param(
            "姓,名,個人番号\r\n山田,太郎,\r\n".encode("utf-16"), id="utf-16 with japanese"
        ),
    ],
)
def test_a_file_neither_utf8_nor_shift_jis_is_refused_as_such(personas, tmp_path, content):
    path = tmp_path / "enc.csv"
    path.write_bytes(content)

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert len(error.report.errors) == 1
    line, message = error.report.errors[0]
    assert line == 0
    assert "UTF-8 でも Shift_JIS (CP932) でもありません" in message
    assert counts() == NOTHING
    assert [e.outcome for e in import_entries()] == ["failed"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_file_of_english_headings_is_refused_as_the_wrong_encoding(
    personas, make_number, tmp_path, encoding
):
    path = write_people(
        tmp_path / "u16.csv",
        [
            person(
                employee_code="E001",
                family_name="Yamada",
                given_name="Taro",
                family_name_kana="",
                given_name_kana="",
                number="",
            )
        ],
        encoding=encoding,
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [0]
    assert "UTF-8 でも Shift_JIS (CP932) でもありません" in error.report.errors[0][1]


# --- no number in any message -----------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["plain", "spaced", "full-width"])
def test_no_message_repeats_a_number_of_a_rejected_file(personas, make_number, tmp_path, spelling):
    raw = [make_number() for _ in range(4)]
    typed = {
        "plain": lambda n: n,
        "spaced": lambda n: f"{n[:4]} {n[4:8]} {n[8:]}",
        "full-width": lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    }[spelling]
    stored_number(personas, raw[3])
    path = write_people(
        tmp_path / "leak.csv",
        [
            person(employee_code="E001", number=typed(raw[0])),
            person(employee_code="E002", number=typed(wrong_check_digit(raw[1]))),
            person(employee_code="E003", number=typed(raw[0])),
            person(employee_code="E004", number=typed(raw[2]) + "0"),
            person(employee_code="E005", number=typed(raw[3])),
            person(employee_code="E006", birth_date=raw[2], number="x" + raw[2]),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert sorted(by_line(error)) == [3, 4, 5, 6, 7]
    assert_no_number_in(messages_of(error), [*raw, wrong_check_digit(raw[1])])
    (entry,) = import_entries("failed")
    assert_no_number_in([str(entry.detail), entry.reason], raw)


def test_a_file_without_a_header_row_does_not_echo_its_first_number(
    personas, make_number, tmp_path
):
    number = make_number()
    path = write_lines(tmp_path / "noheader.csv", [f"E001,山田,太郎,{number}"])

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert counts() == NOTHING
    assert_no_number_in(messages_of(error), [number])


# --- all or nothing ---------------------------------------------------------------------------


def test_an_error_in_a_late_batch_undoes_the_batches_already_written(
    personas, make_number, tmp_path, monkeypatch
):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    good = [make_number() for _ in range(5)]
    bad = wrong_check_digit(make_number())
    path = write_people(
        tmp_path / "late.csv",
        [person(employee_code=f"E{i}", number=n) for i, n in enumerate(good)]
        + [person(employee_code="E9", number=bad)],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [7]
    assert counts() == NOTHING
    assert [e.outcome for e in import_entries()] == ["failed"]


def test_a_crash_halfway_leaves_nothing_in_the_data_or_the_key_store(
    personas, make_number, tmp_path, monkeypatch
):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    original = BulkStore.store
    calls: list[int] = []

    def store_then_fail(self, pairs, *, notified_on):
        original(self, pairs, notified_on=notified_on)
        calls.append(len(pairs))
        if len(calls) == 2:
            raise OSError("No space left on device")

    monkeypatch.setattr(BulkStore, "store", store_then_fail)
    path = write_people(
        tmp_path / "crash.csv",
        [person(employee_code=f"E{i}", number=make_number()) for i in range(5)],
    )

    with pytest.raises(OSError):
        import_people(path, acting_user=personas.handler, company=personas.company)

    assert calls == [2, 2]
    assert counts() == NOTHING
    assert not [e for e in import_entries() if e.outcome == "ok"]


def test_a_failed_import_writes_exactly_one_failed_audit_entry(personas, make_number, tmp_path):
    path = write_people(
        tmp_path / "bad.csv",
        [
            person(employee_code="E001", number=wrong_check_digit(make_number())),
            person(employee_code="E002", birth_date="nope"),
        ],
    )

    rejected(path, acting_user=personas.handler, company=personas.company)

    (entry,) = import_entries()
    assert (entry.outcome, entry.reason, entry.actor_id, entry.company_id) == (
        "failed",
        "invalid_file",
        personas.handler.pk,
        personas.company.pk,
    )
    assert entry.detail["errors"] == 2


def test_the_report_keeps_the_first_errors_and_counts_them_all(personas, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_REPORTED", 3)
    path = write_people(
        tmp_path / "many.csv", [person(employee_code=f"E{i}", birth_date="x") for i in range(5)]
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [2, 3, 4]
    assert error.report.error_count == 5
    assert "5" in str(error)


def test_a_bad_row_and_a_dependent_of_an_earlier_employee_give_only_the_real_error(
    personas, make_number, tmp_path
):
    path = write_people(
        tmp_path / "mixed.csv",
        [
            person(employee_code="E001"),
            person(kind="dependent", given_name="花子", dependent_of="E001", relationship="妻"),
            person(employee_code="E002", number=wrong_check_digit(make_number())),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [4]


def test_an_error_in_an_earlier_batch_does_not_orphan_later_dependents(
    personas, make_number, tmp_path, monkeypatch
):
    monkeypatch.setattr(csv_import, "BATCH", 2)
    path = write_people(
        tmp_path / "orphaned.csv",
        [
            person(employee_code="E001"),
            person(employee_code="E002", number=wrong_check_digit(make_number())),
            person(kind="dependent", given_name="花子", dependent_of="E001", relationship="妻"),
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert [line for line, _ in error.report.errors] == [3]


def test_an_unknown_column_and_bad_rows_are_reported_together(personas, make_number, tmp_path):
    number = make_number()
    path = write_lines(
        tmp_path / "both.csv",
        [
            "姓,名,住所,個人番号",
            f"山田,太郎,a@example.jp,{number}",
            f"佐藤,花子,b@example.jp,{wrong_check_digit(make_number())}",
            f"鈴木,一郎,c@example.jp,{number}",
        ],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert sorted(by_line(error)) == [1, 3, 4]


def test_a_stray_quote_that_runs_to_the_end_of_a_long_file_is_reported(personas, tmp_path):
    path = write_lines(
        tmp_path / "quote.csv",
        ["family_name,given_name", '"山田,太郎', *(["佐藤,花子"] * 30000)],
    )

    error = rejected(path, acting_user=personas.handler, company=personas.company)

    assert error.report.errors
    assert counts() == NOTHING
    assert [e.outcome for e in import_entries()] == ["failed"]


@pytest.mark.parametrize("column", ["社員番号", "姓", "セイ", "扶養元社員番号"])
def test_a_number_in_another_column_is_refused_and_not_echoed(
    personas, tmp_path, make_number, column
):
    number = make_number()
    values = {"社員番号": "E1", "姓": "山田", "名": "太郎", "セイ": "ヤマダ", "扶養元社員番号": ""}
    values[column] = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    path = tmp_path / "misplaced.csv"
    path.write_text(",".join(values) + "\n" + ",".join(values.values()) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_people(path, acting_user=personas.handler, company=personas.company)
    messages = [m for _, m in rejected.value.report.errors]
    assert any("個人番号の列に入れてください" in m for m in messages)
    assert all(number[:4] not in m for m in messages)
    assert not Person.objects.exists()


def test_a_bad_email_is_reported_with_its_line(tmp_path, personas):
    path = tmp_path / "people.csv"
    path.write_text("姓,名,メールアドレス\n山田,太郎,not-an-address\n", encoding="utf-8")
    error = rejected(path, acting_user=personas.handler, company=personas.company)
    assert sorted(by_line(error)) == [2]
    assert "メールアドレス" in by_line(error)[2][0]
