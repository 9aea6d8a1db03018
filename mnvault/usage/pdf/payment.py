"""報酬、料金、契約金及び賞金の支払調書 (309) as PDF: the tax office's copy with the payee's
個人番号 and the payer's 法人番号, and a copy for the payee with no number (domain R31: a
voluntary copy handed to a payee carries none).

As in ``withholding``, the payee's copy is made from a ``PaymentSlip`` alone. The box list is
the NTA form's (支払を受ける者 住所・氏名・番号, 区分, 細目, 支払金額, 源泉徴収税額, 摘要, 支払者
住所・氏名・電話・番号, 整理欄); the official sheet's size and box positions are unconfirmed, so
this grid is the module's own, a half A4 sheet per slip as for the 源泉徴収票.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from mnvault.usage.pdf.layout import (
    CONTENT_WIDTH,
    Frame,
    document_year,
    half_page_document,
    refuse_numbers,
    yen,
)
from mnvault.usage.slips import PaymentNumbers, PaymentSlip

W = CONTENT_WIDTH
TITLE_TEXT = "報酬、料金、契約金及び賞金の支払調書"
LABEL_X, LABEL_W = 16.0, 100.0
VALUE_X = LABEL_X + LABEL_W
PAYEE = 40.0  # top of the payee block; rows of 26, 26, 18
AMOUNTS = (118.0, 14.0, 28.0)
AMOUNT_COLUMNS = (
    ("区分", 120.0),
    ("細目", 140.0),
    ("支払金額", 150.0),
    ("源泉徴収税額", W - 410.0),
)
REMARKS = (166.0, 70.0)
PAYER = 244.0  # rows of 18 (number), 26, 26
CLEARING = 320.0


@dataclass(frozen=True)
class Copy:
    caption: str
    numbers: bool


TAX_OFFICE = Copy("税務署提出用", numbers=True)
RECIPIENT = Copy("支払を受ける者用・写し", numbers=False)


def _party(f: Frame, top: float, caption: str, number_first: bool, copy: Copy, cells: int) -> float:
    """A 支払を受ける者 or 支払者 block (住所, 氏名又は名称, 個人番号又は法人番号); returns the
    top of its number row."""
    h = 70.0
    f.box(0, top, W, h)
    f.box(0, top, LABEL_X, h, width=0.3)
    f.vertical(0, top, LABEL_X, h, caption, 7)
    rows = [("住所（居所）又は所在地", 26.0), ("氏名又は名称", 26.0)]
    number_row = ("個人番号又は法人番号", 18.0)
    order = [number_row, *rows] if number_first else [*rows, number_row]
    y = top
    number_top = top
    for label, rh in order:
        f.box(LABEL_X, y, LABEL_W, rh, width=0.3)
        f.box(VALUE_X, y, W - VALUE_X, rh, width=0.3)
        if label == number_row[0]:
            number_top = y
            if copy.numbers:
                f.caption(LABEL_X, y, LABEL_W, rh, label, 6)
                f.cells(VALUE_X, y, cells * 11.0, rh, cells)
            else:
                f.hatch(LABEL_X, y, LABEL_W + cells * 11.0, rh)
        else:
            f.caption(LABEL_X, y, LABEL_W, rh, label, 6)
        y += rh
    return number_top


def grid(copy: Copy) -> Callable[[Frame], None]:
    def draw(f: Frame) -> None:
        f.text(W, 12, f"（{copy.caption}）", 7, font=f.mincho, align="right")
        _party(f, PAYEE, "支払を受ける者", False, copy, 12)
        top, head, body = AMOUNTS
        x = 0.0
        for caption, w in AMOUNT_COLUMNS:
            f.box(x, top, w, head, width=0.3)
            f.caption(x, top, w, head, caption, 6.5)
            f.box(x, top + head, w, body)
            if caption in ("支払金額", "源泉徴収税額"):
                f.text(x + w - 2, top + head + 6, "円", 5, font=f.mincho, align="right")
            x += w
        f.box(0, REMARKS[0], W, REMARKS[1])
        f.label(0, REMARKS[0], 40, "（摘要）", 6)
        _party(f, PAYER, "支払者", True, copy, 13)
        f.box(0, CLEARING, 60, 18, width=0.3)
        f.caption(0, CLEARING, 60, 18, "整理欄", 6)
        f.box(60, CLEARING, 120, 18, width=0.3)
        f.label(60, CLEARING, 20, "①", 6)
        f.box(180, CLEARING, 120, 18, width=0.3)
        f.label(180, CLEARING, 20, "②", 6)

    return draw


def fill(f: Frame, slip: PaymentSlip, numbers: PaymentNumbers | None) -> None:
    """One slip's values on its grid; ``numbers`` is None exactly for the payee's copy."""
    f.text(W / 2, 22, f"{document_year(slip.year)}　{TITLE_TEXT}", 12, font=f.mincho,
           align="center")  # fmt: skip
    f.paragraph(VALUE_X, PAYEE, W - VALUE_X, 26, slip.payee_address, 9)
    f.text(VALUE_X + 3, PAYEE + 33, slip.payee_kana, 6, width=W - VALUE_X - 6)
    f.text(VALUE_X + 3, PAYEE + 48, slip.payee_name, 11, width=W - VALUE_X - 90)
    if slip.payee_code:
        f.text(W - 3, PAYEE + 48, f"（コード {slip.payee_code}）", 7, align="right", width=84)
    if numbers is not None:
        f.digits(VALUE_X, PAYEE + 52, 12 * 11.0, 18, 12, numbers.payee)

    top, head, body = AMOUNTS
    values = (slip.category, slip.detail, yen(slip.amount), yen(slip.tax_withheld))
    x = 0.0
    for (_caption, w), value in zip(AMOUNT_COLUMNS, values, strict=True):
        if value[:1].isdigit():
            f.text(x + w - 4, top + head + body - 6, value, 11, align="right", width=w - 8)
        else:
            f.text(x + w / 2, top + head + body - 8, value, 9, align="center", width=w - 4)
        x += w
    f.paragraph(0, REMARKS[0] + 8, W, REMARKS[1] - 8, slip.remarks, 8)

    if numbers is not None:
        f.digits(VALUE_X, PAYER, 13 * 11.0, 18, 13, numbers.payer_corporate_number)
    f.text(VALUE_X + 3, PAYER + 18 + 17, slip.payer.address, 9, width=W - VALUE_X - 6)
    f.text(VALUE_X + 3, PAYER + 44 + 17, slip.payer.name, 10, width=W - VALUE_X - 120)
    f.text(W - 3, PAYER + 44 + 17, f"（電話）{slip.payer.phone}" if slip.payer.phone else "", 7,
           align="right", width=114)  # fmt: skip


def _document(
    items: Iterable[tuple[PaymentSlip, PaymentNumbers | None]], out: BinaryIO, copy: Copy
) -> int:
    def draw(f: Frame, item: tuple[PaymentSlip, PaymentNumbers | None]) -> None:
        fill(f, item[0], item[1])

    return half_page_document(
        out, items, draw, title=f"{TITLE_TEXT}（{copy.caption}）", static=grid(copy)
    )


def tax_office_copy(items: Iterable[tuple[PaymentSlip, PaymentNumbers]], out: BinaryIO) -> int:
    """The tax office's copies, two to an A4 page, with the payee's 個人番号 and the payer's
    法人番号. Returns the page count."""
    return _document(items, out, TAX_OFFICE)


def recipient_copies(slips: Iterable[PaymentSlip], out: BinaryIO) -> int:
    """Copies for the payees, two to an A4 page, every number box struck out. Takes slips
    only (R31). Returns the page count."""

    def checked() -> Iterable[tuple[PaymentSlip, None]]:
        for slip in slips:
            refuse_numbers(slip)
            yield slip, None

    return _document(checked(), out, RECIPIENT)


def recipient_copy(slip: PaymentSlip, out: BinaryIO) -> None:
    """One payee's copy, on the top half of an A4 page."""
    recipient_copies([slip], out)
