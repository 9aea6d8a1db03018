"""Writing people CSV files the way spreadsheets do, and checking what an import left behind."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.people.csv_import import ImportRejected, import_people
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault.models import DataKey, NumberRecord

COLUMNS = (
    "kind",
    "employee_code",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "hire_date",
    "leave_date",
    "dependent_of",
    "relationship",
    "number",
)
# The headings an HR spreadsheet in Japan has, column for column.
JAPANESE = (
    "区分",
    "社員番号",
    "姓",
    "名",
    "セイ",
    "メイ",
    "生年月日",
    "入社日",
    "退職日",
    "扶養元社員番号",
    "続柄",
    "個人番号",
)


def person(**values: str) -> dict[str, str]:
    """One row of the file, by column name; an employee named 山田 太郎 unless told otherwise."""
    return {
        "kind": "employee",
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        **values,
    }


def csv_text(
    rows: Iterable[dict[str, str]],
    *,
    columns: Sequence[str] = COLUMNS,
    headings: Sequence[str] | None = None,
    newline: str = "\n",
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(headings or columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    return out.getvalue()


def write_people(
    path: Path,
    rows: Iterable[dict[str, str]],
    *,
    columns: Sequence[str] = COLUMNS,
    headings: Sequence[str] | None = None,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    text = csv_text(rows, columns=columns, headings=headings, newline=newline)
    path.write_bytes(text.encode(encoding))
    return path


def write_excel_cp932(path: Path, rows: Iterable[dict[str, str]], **kwargs) -> Path:
    """As Excel saves 「CSV (コンマ区切り)」 on Japanese Windows: Shift_JIS (CP932), CRLF."""
    return write_people(path, rows, encoding="cp932", newline="\r\n", **kwargs)


def write_lines(path: Path, lines: Iterable[str], *, encoding: str = "utf-8") -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    return path


def rejected(path: Path, *, acting_user, company) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        import_people(path, acting_user=acting_user, company=company)
    return info.value


def counts() -> dict[str, int]:
    """Everything an import stores, the key store included."""
    return {
        "people": Person.objects.count(),
        "numbers": NumberRecord.objects.count(),
        "data_keys": DataKey.objects.using("keys").count(),
        "purposes": PersonPurpose.objects.count(),
    }


NOTHING = {"people": 0, "numbers": 0, "data_keys": 0, "purposes": 0}


def import_entries(outcome: str | None = None) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(action="people.import")
    return list(entries.filter(outcome=outcome) if outcome else entries)


_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−－ー_.,/]")


def _flat(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def assert_no_number_in(texts: Iterable[str], file_numbers: Iterable[str]) -> None:
    """No number of the file appears in any text, in any spelling (full-width, spaced, split)."""
    wanted = [_flat(n) for n in file_numbers]
    assert all(len(n) >= 11 for n in wanted), "give the numbers of the file"
    for text in texts:
        for raw, flat in zip(file_numbers, wanted, strict=True):
            assert raw not in text, f"a number of the file appears in {text!r}"
            assert flat not in _flat(text), f"a number of the file appears in {text!r}"


def wrong_check_digit(number: str) -> str:
    """The same number with its last digit changed: a check digit that does not hold."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)
