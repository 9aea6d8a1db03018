"""The number register (帳簿, domain R26) as PDF: the book of numbers the company already holds
that lets employees leave the numbers off their 扶養控除等申告書.

A table, one line per person (the employee, then each relative), streamed page by page. Its
header says what the book is for and how long it is kept, as the book itself must show why it
may stand in for the numbers on the declarations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from mnvault.usage.pdf.layout import Column, document_year, table_document
from mnvault.usage.slips import RegisterEntry, RegisterNumbers

TITLE = "個人番号の帳簿"
PURPOSE = "扶養控除等申告書への個人番号の記載に代えて事業者が保有する個人番号の帳簿"
RETENTION = (
    "この帳簿は、これに基づき個人番号の記載を省略した扶養控除等申告書のうち"
    "最後のものの保存期間が満了する日まで保存します（domain R26）。"
)
COLUMNS = (
    Column("社員番号", 1.2),
    Column("従業員氏名", 2.2),
    Column("区分", 1.0),
    Column("氏名", 2.2),
    Column("続柄・区分", 1.4),
    Column("個人番号", 1.8),
)


def _rows(items: Iterable[tuple[RegisterEntry, RegisterNumbers]]) -> Iterator[list[str]]:
    for entry, numbers in items:
        yield [entry.employee_code, entry.employee_name, "本人", entry.employee_name, "",
               numbers.employee]  # fmt: skip
        for i, relative in enumerate(entry.relatives):
            number = numbers.relatives[i] if i < len(numbers.relatives) else None
            kind = "16歳未満" if relative.under_16 else "扶養親族等"
            yield ["", "", kind, relative.name, relative.category, number or "（未取得）"]


def number_register(
    items: Iterable[tuple[RegisterEntry, RegisterNumbers]],
    out: BinaryIO,
    *,
    company_name: str,
    year: int,
) -> int:
    """The register for the declarations of ``year`` (the 年分 they serve). ``Relative`` has
    no relationship field: the 続柄・区分 column shows the 区分 the payroll file gives. Returns
    the page count."""
    header = (
        PURPOSE,
        f"事業者：{company_name}　対象：{document_year(year)} 給与所得者の扶養控除等（異動）申告書",
        RETENTION,
    )
    footer = (
        "個人番号を含みます。事務取扱担当者以外の閲覧を禁じ、保存期間の満了後は速やかに廃棄してください。",
    )
    return table_document(out, _rows(items), COLUMNS, title=TITLE, header=header, footer=footer)
