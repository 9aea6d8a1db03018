"""A printable list of people with their numbers, for transcription onto the 雇用保険 and
健康保険・厚生年金保険 notifications (資格取得届, 資格喪失届).

Not the official forms: their layouts are unconfirmed (docs/formats.md, "Social and employment
insurance"), so the sheet is a plain table and says so in its footer. A handler copies each
line onto the form or into the filing program, then destroys the sheet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import BinaryIO

from mnvault.usage.pdf.layout import Column, era_date, table_document
from mnvault.usage.slips import InsuranceNotice

TITLE = "届書転記用 個人番号一覧"
COLUMNS = (
    Column("届書", 3.0),
    Column("取得・喪失年月日", 1.5),
    Column("社員番号", 1.1),
    Column("氏名", 2.0),
    Column("フリガナ", 2.0),
    Column("生年月日", 1.4),
    Column("個人番号", 1.7),
    Column("備考", 2.6),
)
FOOTER = (
    "この一覧は公式の様式ではありません。雇用保険・健康保険・厚生年金保険の各届書の公式レイアウトは"
    "未確認のため、各欄を公式の届書又は届書作成プログラムへ転記してください。",
    "個人番号を含みます。転記が終わったら速やかに廃棄（シュレッダー等）してください。",
)


def _era(day: date | None) -> str:
    if day is None:
        return ""
    era, year, month, d = era_date(day)
    return f"{era}{year}.{month}.{d}"


def _rows(items: Iterable[tuple[InsuranceNotice, str]]) -> Iterator[list[str]]:
    for notice, number in items:
        yield [
            notice.form,
            _era(notice.event_date),
            notice.employee_code,
            notice.name,
            notice.kana,
            _era(notice.birth_date),
            number,
            notice.remarks,
        ]


def notice_sheet(
    items: Iterable[tuple[InsuranceNotice, str]], out: BinaryIO, *, company_name: str
) -> int:
    """The sheet, on landscape A4 pages; each item is a notice and its person's 個人番号.
    Returns the page count."""
    header = (f"事業所：{company_name}　社会保険・雇用保険の届出のための転記用資料",)
    return table_document(
        out, _rows(items), COLUMNS, title=TITLE, header=header, footer=FOOTER, wide=True
    )
