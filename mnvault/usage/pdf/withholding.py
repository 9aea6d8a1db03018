"""給与所得の源泉徴収票 as PDF: the tax office's copy with every number in its box, and the
employee's copy with no number box at all (domain R31).

The employee's copy is made from a ``WithholdingSlip`` alone: no function here that makes it
accepts a ``WithholdingNumbers``, so a number cannot reach it by mistake, and its slip is
checked for anything that looks like a number typed into a text (``layout.refuse_numbers``).

The boxes follow the official form's as listed by the NTA (docs/formats.md, "Which copy carries
which number"); their exact sizes and positions on the official sheet are unconfirmed, so the
grid below is this module's own, in the official order. Form labels are printed in Japanese
whatever the reader's language: they are the statutory form's wording, not interface text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from mnvault.usage.pdf.layout import (
    CONTENT_WIDTH,
    Frame,
    document_year,
    era_date,
    half_page_document,
    refuse_numbers,
    yen,
)
from mnvault.usage.slips import Relative, WithholdingNumbers, WithholdingSlip

W = CONTENT_WIDTH
SLOTS = 4  # 控除対象扶養親族 and 16歳未満 each have four rows; the fifth on goes to 摘要

# Which relatives' numbers each authority's copy carries. The tax office's 源泉徴収票 carries
# the spouse's and the 控除対象扶養親族' numbers (the fifth on in 備考); the municipality's
# 給与支払報告書 also those of the 16歳未満 dependents. Source: NTA 令和6年分 給与所得の源泉徴収票
# 等の法定調書の作成と提出の手引, 「(備考)」欄, note 2
# (nta.go.jp/publication/pamph/hotei/tebikihtml/2-2-23.htm). How the official 源泉徴収票
# sheet prints the 16歳未満 row (with or without a number box) is unconfirmed: here its
# number area is struck out on every copy but the municipality's.


@dataclass(frozen=True)
class Copy:
    caption: str  # printed at the top right, as the official sheets say which copy they are
    title: str
    numbers: bool  # the employee's, spouse's, dependents' and payer's numbers
    under_16_numbers: bool


TAX_OFFICE = Copy("税務署提出用", "給与所得の源泉徴収票", numbers=True, under_16_numbers=False)
MUNICIPALITY = Copy(
    "市区町村提出用", "給与支払報告書（個人別明細書）", numbers=True, under_16_numbers=True
)
RECIPIENT = Copy("受給者交付用", "給与所得の源泉徴収票", numbers=False, under_16_numbers=False)

# Rows: (top, height) from the frame's top, in points.
TITLE = 26.0
PERSON = (32.0, 58.0)
AMOUNTS = (94.0, 12.0, 22.0)  # top, header height, value height
COUNTS = (130.0, 22.0, 16.0)
INSURANCE = (170.0, 12.0, 16.0)
REMARKS = (200.0, 34.0)
SPOUSE = (236.0, 20.0)
DEPENDENTS = (258.0, 16.0)  # top, height of each of the four rows
FLAGS = (324.0, 12.0, 16.0)
PAYER = (354.0, 52.0)

AMOUNT_COLUMNS = (
    ("種別", 79.0),
    ("支払金額", 120.0),
    ("給与所得控除後の金額（調整控除後）", 120.0),
    ("所得控除の額の合計額", 120.0),
    ("源泉徴収税額", W - 439.0),
)
COUNT_COLUMNS = (
    ("（源泉・特別）控除対象配偶者の有無等", 80.0),
    ("老人控除対象配偶者", 40.0),
    ("配偶者（特別）控除の額", 90.0),
    ("控除対象扶養親族の数（配偶者を除く）特定", 55.0),
    ("同 老人", 55.0),
    ("同 その他", 55.0),
    ("16歳未満扶養親族の数", 60.0),
    ("障害者の数（本人を除く）", 70.0),
    ("非居住者である親族の数", W - 505.0),
)
INSURANCE_COLUMNS = (
    ("社会保険料等の金額", 140.0),
    ("生命保険料の控除額", 140.0),
    ("地震保険料の控除額", 140.0),
    ("住宅借入金等特別控除の額", W - 420.0),
)
FLAG_COLUMNS = (
    ("未成年者", 38.0),
    ("外国人", 38.0),
    ("死亡退職", 38.0),
    ("災害者", 38.0),
    ("乙欄", 38.0),
    ("中途就・退職 就職", 42.0),
    ("退職", 30.0),
    ("年", 30.0),
    ("月", 30.0),
    ("日", 30.0),
    ("受給者生年月日 元号", 60.0),
    ("年", 30.0),
    ("月", 30.0),
    ("日", W - 472.0),
)

# 支払を受ける者: the address on the left, code / number / title / name on the right.
ADDRESS_X, ADDRESS_W = 16.0, 290.0
RIGHT_X = ADDRESS_X + ADDRESS_W
NUMBER_X, NUMBER_W = RIGHT_X + 132.0, W - RIGHT_X - 132.0  # 12 cells
# Dependents: left half 控除対象扶養親族, right half 16歳未満 (label, index, name, 区分, number).
DEP_LEFT = (0.0, 16.0, 10.0, 110.0, 24.0, 26.0, 108.0)
DEP_RIGHT = (294.0, 16.0, 10.0, 95.0, 24.0, 12.0, W - 294.0 - 157.0)


def _header_row(f: Frame, top: float, head: float, body: float, columns: tuple) -> list[float]:
    """A row of captioned cells over value cells; returns each column's left edge."""
    x, edges = 0.0, []
    for caption, w in columns:
        f.box(x, top, w, head, width=0.3)
        f.caption(x, top, w, head, caption, size=5.5)
        f.box(x, top + head, w, body)
        edges.append(x)
        x += w
    return edges


def grid(copy: Copy) -> Callable[[Frame], None]:
    def draw(f: Frame) -> None:
        f.text(W, 12, f"（{copy.caption}）", 7, font=f.mincho, align="right")
        person(f, copy)
        top, head, body = AMOUNTS
        _header_row(f, top, head, body, AMOUNT_COLUMNS)
        for x, (_c, w) in zip(_edges(AMOUNT_COLUMNS)[1:], AMOUNT_COLUMNS[1:], strict=True):
            f.text(x + w - 2, top + head + 6, "円", 5, font=f.mincho, align="right")
        _header_row(f, *COUNTS, COUNT_COLUMNS)
        _header_row(f, *INSURANCE, INSURANCE_COLUMNS)
        f.box(0, REMARKS[0], W, REMARKS[1])
        f.label(0, REMARKS[0], 40, "（摘要）")
        spouse_row(f, copy)
        dependent_rows(f, copy)
        _header_row(f, *FLAGS, FLAG_COLUMNS)
        payer_block(f, copy)

    return draw


def _edges(columns: tuple) -> list[float]:
    x, edges = 0.0, []
    for _caption, w in columns:
        edges.append(x)
        x += w
    return edges


def person(f: Frame, copy: Copy) -> None:
    top, h = PERSON
    f.box(0, top, W, h)
    f.box(0, top, 16, h, width=0.3)
    f.vertical(0, top, 16, h, "支払を受ける者", 6.5)
    f.box(ADDRESS_X, top, ADDRESS_W, h, width=0.3)
    f.label(ADDRESS_X, top, 80, "住所又は居所")
    f.box(RIGHT_X, top, 40, 14, width=0.3)
    f.caption(RIGHT_X, top, 40, 14, "受給者番号", 5.5)
    f.box(RIGHT_X + 40, top, 60, 14, width=0.3)
    if copy.numbers:
        f.box(RIGHT_X + 100, top, 32, 14, width=0.3)
        f.caption(RIGHT_X + 100, top, 32, 14, "個人番号", 5.5)
        f.cells(NUMBER_X, top, NUMBER_W, 14, 12)
    else:
        f.hatch(RIGHT_X + 100, top, 32 + NUMBER_W, 14)
    f.box(RIGHT_X, top + 14, 40, 14, width=0.3)
    f.caption(RIGHT_X, top + 14, 40, 14, "役職名", 5.5)
    f.box(RIGHT_X + 40, top + 14, W - RIGHT_X - 40, 14, width=0.3)
    f.box(RIGHT_X, top + 28, 16, 30, width=0.3)
    f.vertical(RIGHT_X, top + 28, 16, 30, "氏名", 7)
    f.label(RIGHT_X + 16, top + 28, 60, "（フリガナ）", 5)


def spouse_row(f: Frame, copy: Copy) -> None:
    top, h = SPOUSE
    f.box(0, top, 70, h, width=0.3)
    f.caption(0, top, 70, h, "（源泉・特別）控除対象配偶者", 5.5)
    f.box(70, top, 150, h, width=0.3)
    f.label(70, top, 60, "（フリガナ）氏名", 5)
    f.box(220, top, 30, h, width=0.3)
    f.label(220, top, 30, "区分", 5)
    if copy.numbers:
        f.box(250, top, 30, h, width=0.3)
        f.caption(250, top, 30, h, "個人番号", 5.5)
        f.cells(280, top, 120, h, 12)
    else:
        f.hatch(250, top, 150, h)
    f.box(400, top, W - 400, h, width=0.3)
    f.label(400, top, 80, "配偶者の合計所得", 5)


def dependent_rows(f: Frame, copy: Copy) -> None:
    top, row = DEPENDENTS
    for geometry, caption, numbered in (
        (DEP_LEFT, "控除対象扶養親族", copy.numbers),
        (DEP_RIGHT, "16歳未満の扶養親族", copy.under_16_numbers),
    ):
        x, lab, idx, name, kubun, numlab, cells = geometry
        f.box(x, top, lab, row * SLOTS, width=0.3)
        f.vertical(x, top, lab, row * SLOTS, caption, 5.5)
        for i in range(SLOTS):
            y = top + i * row
            cx = x + lab
            f.box(cx, y, idx, row, width=0.3)
            f.text(cx + idx / 2, y + row / 2 + 2.5, str(i + 1), 6, font=f.mincho, align="center")
            cx += idx
            f.box(cx, y, name, row, width=0.3)
            if i == 0:
                f.label(cx, y, 60, "（フリガナ）氏名", 4.5)
            cx += name
            f.box(cx, y, kubun, row, width=0.3)
            if i == 0:
                f.label(cx, y, kubun, "区分", 4.5)
            cx += kubun
            if numbered:
                f.box(cx, y, numlab, row, width=0.3)
                f.caption(cx, y, numlab, row, "個人番号" if numlab > 20 else "番号", 4.5)
                f.cells(cx + numlab, y, cells, row, 12)
            else:
                f.hatch(cx, y, numlab + cells, row)


def payer_block(f: Frame, copy: Copy) -> None:
    top, h = PAYER
    f.box(0, top, W, h)
    f.box(0, top, 16, h, width=0.3)
    f.vertical(0, top, 16, h, "支払者", 7)
    f.box(16, top, 90, 14, width=0.3)
    if copy.numbers:
        f.caption(16, top, 90, 14, "個人番号又は法人番号", 5.5)
        f.cells(106, top, 130, 14, 13)
    else:
        f.hatch(16, top, 220, 14)
    f.box(16, top + 14, 90, 20, width=0.3)
    f.caption(16, top + 14, 90, 20, "住所（居所）又は所在地", 5.5)
    f.box(106, top + 14, W - 106, 20, width=0.3)
    f.box(16, top + 34, 90, 18, width=0.3)
    f.caption(16, top + 34, 90, 18, "氏名又は名称", 5.5)
    f.box(106, top + 34, 300, 18, width=0.3)
    f.box(406, top + 34, W - 406, 18, width=0.3)
    f.label(406, top + 34, 40, "（電話）", 5)


def fill(f: Frame, slip: WithholdingSlip, numbers: WithholdingNumbers | None, copy: Copy) -> None:
    """One slip's values on its grid; ``numbers`` is None exactly for the recipient's copy."""
    f.text(
        W / 2,
        TITLE - 6,
        f"{document_year(slip.year)}　{copy.title}",
        12,
        font=f.mincho,
        align="center",
    )
    top, h = PERSON
    f.paragraph(ADDRESS_X, top + 9, ADDRESS_W, h - 10, slip.recipient_address, 8.5)
    f.text(RIGHT_X + 43, top + 10, slip.employee_code, 7, width=55)
    f.text(RIGHT_X + 43, top + 24, slip.recipient_title, 7, width=W - RIGHT_X - 46)
    f.text(RIGHT_X + 70, top + 35, slip.recipient_kana, 6, width=W - RIGHT_X - 72)
    f.text(RIGHT_X + 20, top + 52, slip.recipient_name, 12, width=W - RIGHT_X - 24)
    if numbers is not None:
        f.digits(NUMBER_X, top, NUMBER_W, 14, 12, numbers.recipient)

    amounts = (
        slip.payment_kind,
        yen(slip.payment_amount),
        yen(slip.after_deduction),
        yen(slip.deductions_total),
        yen(slip.tax_withheld),
    )
    _values(f, AMOUNTS, AMOUNT_COLUMNS, amounts, size=10)
    _values(f, COUNTS, COUNT_COLUMNS, _counts(slip), size=8)
    _values(f, INSURANCE, INSURANCE_COLUMNS, (yen(slip.social_insurance), "", "", ""), size=9)
    _values(f, FLAGS, FLAG_COLUMNS, _flags(slip), size=7)

    remarks, notes = _overflow(slip, numbers, copy)
    text = "　".join(t for t in (slip.remarks, *remarks) if t)
    f.paragraph(0, REMARKS[0] + 7, W, REMARKS[1] - 7, text, 7)
    if notes:  # the fifth dependent on: numbers in （備考）, keyed to the names in 摘要
        f.paragraph(
            W / 2, REMARKS[0] + REMARKS[1] - 12, W / 2, 12, "（備考）" + "　".join(notes), 6
        )

    top, h = SPOUSE
    if slip.spouse is not None:
        _relative(f, 70, top, 150, 30, h, slip.spouse)
        if numbers is not None and numbers.spouse:
            f.digits(280, top, 120, h, 12, numbers.spouse)
    _dependents(f, slip, numbers, copy)

    top, h = PAYER
    if numbers is not None:
        f.digits(106, top, 130, 14, 13, numbers.payer_corporate_number)
    f.text(109, top + 28, slip.payer.address, 8.5, width=W - 112)
    f.text(109, top + 47, slip.payer.name, 10, width=294)
    f.text(W - 3, top + 47, slip.payer.phone, 8, align="right", width=W - 440)


def _values(f: Frame, row: tuple, columns: tuple, values: tuple, *, size: float) -> None:
    top, head, body = row
    for x, (_c, w), value in zip(_edges(columns), columns, values, strict=True):
        numeric = value[:1].isdigit()
        if numeric:
            f.text(x + w - 4, top + head + body - 4, value, size, align="right", width=w - 8)
        else:
            f.text(x + w / 2, top + head + body - 4, value, size, align="center", width=w - 4)


def _counts(s: WithholdingSlip) -> tuple[str, ...]:
    adults = [d for d in s.dependents if not d.under_16]
    specified = sum("特定" in d.category for d in adults)
    elderly = [d for d in adults if "老人" in d.category or "老親" in d.category]
    living_with = sum("同居" in d.category for d in elderly)
    others = len(adults) - specified - len(elderly)
    under_16 = sum(d.under_16 for d in s.dependents)
    spouse = s.spouse
    return (
        "有" if spouse else "",
        "○" if spouse and "老人" in spouse.category else "",
        "",
        _count(specified),
        _count(len(elderly)) + (f"（内{living_with}）" if living_with else ""),
        _count(others),
        _count(under_16),
        "",
        "",
    )


def _count(n: int) -> str:
    return f"{n}人" if n else ""


def _flags(s: WithholdingSlip) -> tuple[str, ...]:
    moved = s.left_on or s.joined_on
    moved_parts = ("", "", "") if moved is None else tuple(str(p) for p in era_date(moved)[1:])
    born = (
        ("", "", "", "") if s.birth_date is None else tuple(str(p) for p in era_date(s.birth_date))
    )
    return (
        "", "", "", "", "",  # 未成年者 … 乙欄: not in the payroll data
        "○" if s.joined_on else "",
        "○" if s.left_on else "",
        *moved_parts,
        *born,
    )  # fmt: skip


def _relative(f: Frame, x: float, top: float, name_w: float, kubun_w: float, h: float,
              r: Relative) -> None:  # fmt: skip
    f.text(x + 50, top + 6, r.kana, 4.5, width=name_w - 52)
    f.text(x + 3, top + h - 3, r.name, 8.5, width=name_w - 6)
    f.text(x + name_w + kubun_w / 2, top + h - 3, r.category, 6, align="center", width=kubun_w - 2)


def _split(slip: WithholdingSlip) -> tuple[list[int], list[int]]:
    """Indexes into ``slip.dependents`` (and so into ``WithholdingNumbers.dependents``) of the
    控除対象扶養親族 and of the 16歳未満, each in file order."""
    adults = [i for i, d in enumerate(slip.dependents) if not d.under_16]
    children = [i for i, d in enumerate(slip.dependents) if d.under_16]
    return adults, children


def _number(numbers: WithholdingNumbers | None, index: int) -> str | None:
    if numbers is None or index >= len(numbers.dependents):
        return None
    return numbers.dependents[index]


def _dependents(
    f: Frame, slip: WithholdingSlip, numbers: WithholdingNumbers | None, copy: Copy
) -> None:
    top, row = DEPENDENTS
    adults, children = _split(slip)
    for geometry, indexes, numbered in (
        (DEP_LEFT, adults, copy.numbers),
        (DEP_RIGHT, children, copy.under_16_numbers),
    ):
        x, lab, idx, name, kubun, numlab, cells = geometry
        for slot, index in enumerate(indexes[:SLOTS]):
            y = top + slot * row
            _relative(f, x + lab + idx, y, name, kubun, row, slip.dependents[index])
            number = _number(numbers, index) if numbered else None
            if number:
                f.digits(x + lab + idx + name + kubun + numlab, y, cells, row, 12, number)


def _overflow(
    slip: WithholdingSlip, numbers: WithholdingNumbers | None, copy: Copy
) -> tuple[list[str], list[str]]:
    """The fifth relative on of each kind: "(5)氏名" in 摘要 on every copy, and on an
    authority's copy "(5)番号" in 備考 (the NTA 手引's way of keying one to the other)."""
    remarks: list[str] = []
    notes: list[str] = []
    adults, children = _split(slip)
    for indexes, numbered, kind in (
        (adults, copy.numbers, ""),
        (children, copy.under_16_numbers, "16歳未満"),
    ):
        for slot, index in enumerate(indexes[SLOTS:], start=SLOTS + 1):
            remarks.append(f"（{slot}）{kind}{slip.dependents[index].name}")
            number = _number(numbers, index) if numbered else None
            if number:
                notes.append(f"（{slot}）{kind}{number}")
    return remarks, notes


def _document(
    items: Iterable[tuple[WithholdingSlip, WithholdingNumbers | None]], out: BinaryIO, copy: Copy
) -> int:
    def draw(f: Frame, item: tuple[WithholdingSlip, WithholdingNumbers | None]) -> None:
        fill(f, item[0], item[1], copy)

    return half_page_document(
        out, items, draw, title=f"{copy.title}（{copy.caption}）", static=grid(copy)
    )


def tax_office_copy(
    items: Iterable[tuple[WithholdingSlip, WithholdingNumbers]], out: BinaryIO
) -> int:
    """The tax office's copies (税務署提出用), two to an A4 page, each with the employee's,
    the spouse's and the 控除対象扶養親族' 個人番号 and the payer's 法人番号. Returns the
    page count."""
    return _document(items, out, TAX_OFFICE)


def municipality_copy(
    items: Iterable[tuple[WithholdingSlip, WithholdingNumbers]], out: BinaryIO
) -> int:
    """The 給与支払報告書（個人別明細書） for the municipality (R32): the tax office's copy
    plus the 16歳未満 dependents' numbers. Returns the page count."""
    return _document(items, out, MUNICIPALITY)


def recipient_copies(slips: Iterable[WithholdingSlip], out: BinaryIO) -> int:
    """The employees' copies (受給者交付用), two to an A4 page: every number box struck out,
    no 法人番号. Takes slips only (R31). Returns the page count."""

    def checked() -> Iterable[tuple[WithholdingSlip, None]]:
        for slip in slips:
            refuse_numbers(slip)
            yield slip, None

    return _document(checked(), out, RECIPIENT)


def recipient_copy(slip: WithholdingSlip, out: BinaryIO) -> None:
    """One employee's copy (受給者交付用), on the top half of an A4 page."""
    recipient_copies([slip], out)
