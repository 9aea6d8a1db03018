"""The simple input files mnvault defines itself (payments per payee, insurance events, the
register's list of declarations): a header row naming the columns in Japanese or English, in
any order; each row normalised to the kind's own column order, which is what a run keeps."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.utils.translation import gettext as _

from mnvault.usage.kinds.base import InputRow
from mnvault.usage.reading import UnreadableFile, plain_date

# Column → the headings that name it (compared after NFKC, without spaces, lower case).
HEADINGS: Mapping[str, tuple[str, ...]] = {
    "code": (
        "code",
        "支払先コード",
        "支払を受ける者コード",
        "受給者番号",
        "社員番号",
        "従業員コード",
    ),
    "name": ("name", "氏名", "名称", "氏名又は名称"),
    "kana": ("kana", "フリガナ", "カナ", "氏名カナ"),
    "birth_date": ("birth_date", "生年月日"),
    "address": ("address", "住所", "住所又は所在地"),
    "category": ("category", "区分"),
    "detail": ("detail", "細目"),
    "amount": ("amount", "支払金額"),
    "tax": ("tax", "源泉徴収税額"),
    "remarks": ("remarks", "摘要", "備考"),
    "event_date": ("event_date", "取得年月日", "喪失年月日", "年月日", "date"),
}


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


_LOOKUP = {_key(heading): column for column, names in HEADINGS.items() for heading in names}


def read(
    lines: Iterable[tuple[int, list[str]]], columns: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, list[str]]]:
    """(line, values in ``columns`` order) of each data row, after the header row."""
    positions: dict[str, int] | None = None
    for line, values in lines:
        if positions is None:
            positions = {}
            for index, heading in enumerate(values):
                column = _LOOKUP.get(_key(heading))
                if column is not None and column in columns and column not in positions:
                    positions[column] = index
            missing = [c for c in required if c not in positions]
            if missing:
                raise UnreadableFile(
                    _("The first line must name the columns; missing: %(columns)s")
                    % {"columns": ", ".join(HEADINGS[c][1] for c in missing)},
                    code="header",
                )
            continue
        yield (
            line,
            [
                values[positions[c]].strip()
                if c in positions and positions[c] < len(values)
                else ""
                for c in columns
            ],
        )


def person_row(line: int, values: list[str], columns: Sequence[str]) -> InputRow:
    """The who-is-it part of a normalised row; a bad birth date is the row's error."""
    field = dict(zip(columns, values, strict=True))
    row = InputRow(line=line, values=values, code=field.get("code", ""), name=field.get("name", ""))
    row.kana = field.get("kana", "")
    try:
        row.birth_date = plain_date(field.get("birth_date", ""))
    except ValueError as error:
        row.error = str(error)
    return row
