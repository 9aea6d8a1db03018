"""The eLTAX 「給与支払報告書・源泉徴収票 統一CSV」 record (法定資料の種類 315): one line per
employee, no header, from which eLTAX makes both the municipal 給与支払報告書 and the e-Tax
源泉徴収票 (domain R32, R43).

Where each position comes from — the official 統一CSVレイアウト仕様書 (eltax.lta.go.jp/news/09390)
could not be read from here, so no position below is confirmed by it as a whole:

- Items 1–13 (indexes 0–12): the 総務省 光ディスク record for 315 as a municipality republishes
  it (網走市 「給与支払報告書 光ディスク等提出データ仕様書」, item numbers and names); the same
  items 1–12 in the NTA 375 「レコードの内容及び記録要領」 (a mirror of the NTA PDF). Treat as
  **confirmed from a primary text's copy**.
- Item 33 (index 32) = 障害者の数 特別障害者: seen with its item number in an excerpt of the
  統一CSV 仕様書 itself (a document mirror) — the one point read in the official spec.
- Indexes 13–92 and 133–139: **secondary** — two independent programs agree: the 2014
  pre-My-Number validator arakanema/kyuhou_csv_validator (MIT, 98 items, named per item) and
  chumaltd/luca-jp lib/luca_salary/jp_payreport.rb (GPL; only facts read, no code taken).
- Indexes 93–132 and 140 onwards (the My Number block, 基礎控除 …, 特定親族, 作成区分):
  **secondary, one source only** (luca-jp). Unconfirmed against the official spec.

Before the first real filing, check every index here against the 仕様書 of that year; the
self-checks in usage/tests/test_layouts.py only prove the layout is consistent, not right.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

RECORD_CODE = "315"

# 受給者の生年月日 元号. Secondary (luca-jp; the 2014 validator allows 1–4, i.e. before 令和):
# the NTA's own order, not chronological. Unconfirmed against the 仕様書.
ERA_CODES: dict[str, str] = {"明治": "3", "大正": "2", "昭和": "1", "平成": "4", "令和": "5"}

# 提出区分 (item 10, the NTA's 訂正表示 widened to 0–3). Secondary (luca-jp; the 2014 validator
# allows 0–3). The NTA 375 record itself has only 0 and 1 (confirmed, mirror of the NTA PDF).
SUBMISSION_KINDS: dict[str, str] = {"new": "0", "addition": "1", "correction": "2", "cancel": "3"}

# 作成区分, the last column: which authorities the record is for. Secondary (luca-jp only).
CREATION_KINDS: dict[str, str] = {"national_only": "0", "local_only": "1", "both": "2"}

# 中途就・退職 区分 (item 60). The 2014 validator allows 0–2; that 1 is 就職 and 2 is 退職 is
# unconfirmed (it follows the paper form's order 就職・退職).
MID_YEAR_KINDS: dict[str, str] = {"none": "", "joined": "1", "left": "2"}


@dataclass(frozen=True)
class RelativeColumns:
    """The four columns of one listed relative (カナ, 氏名, 区分, 個人番号)."""

    kana: int
    name: int
    category: int  # 区分: "00" normally, "01" 非居住者 (secondary: luca-jp comment only)
    number: int

    def indexes(self) -> tuple[int, int, int, int]:
        return (self.kana, self.name, self.category, self.number)


_PARTS = ("kana", "name", "category", "number")


def _relatives(first: int, count: int) -> tuple[RelativeColumns, ...]:
    return tuple(RelativeColumns(*range(first + 4 * i, first + 4 * i + 4)) for i in range(count))


@dataclass(frozen=True)
class UnifiedCsvLayout:
    label: str  # the year as the 仕様書 names it
    width: int  # number of columns in a record
    record_code: int
    # 提出義務者 (支払者) block, items 4–6: confirmed (網走市 copy of the 総務省 record; NTA 375).
    payer_address: int
    payer_name: int
    payer_phone: int
    submission_kind: int  # 提出区分 (item 10)
    year: int  # 年分, 和暦 2 digits (item 11, confirmed)
    recipient_address: int  # item 12, confirmed
    recipient_abroad: int  # 国外住所表示, item 13, confirmed
    recipient_name: int  # secondary from here on (see the module docstring)
    recipient_title: int  # 役職名
    payment_kind: int  # 種別
    payment_amount: int  # 支払金額
    after_deduction: int  # 給与所得控除後の給与等の金額
    deductions_total: int  # 所得控除の額の合計額
    tax_withheld: int  # 源泉徴収税額
    social_insurance: int  # 社会保険料等の金額
    birth_era: int  # 受給者の生年月日 元号 (ERA_CODES)
    birth_year: int
    birth_month: int
    birth_day: int
    mid_year_kind: int  # 中途就・退職 区分 (MID_YEAR_KINDS)
    mid_year_year: int  # 和暦 2 digits, the era implied by the year of income
    mid_year_month: int
    mid_year_day: int
    remarks: int  # 摘要
    under_16_count: int  # 16歳未満扶養親族の数
    payer_corporate_number: int  # 支払者 法人番号 — one source only (luca-jp)
    recipient_number: int  # 受給者 個人番号 — one source only (luca-jp)
    spouse: RelativeColumns  # 控除対象配偶者
    dependents: tuple[RelativeColumns, ...]  # 控除対象扶養親族 1–4
    under_16: tuple[RelativeColumns, ...]  # 16歳未満の扶養親族 1–4
    # The fifth relative onwards, as text "(個人番号)氏名" joined by full-width spaces (luca-jp):
    # these columns carry numbers inside text.
    extra_dependents: int
    extra_under_16: int
    kana_name: int  # 受給者 カナ氏名, half-width kana (2014 validator: 必須 半角カナ60)
    employee_code: int  # 受給者番号 (half-width ≤25)
    municipality_code: int  # 提出先市町村コード (5–6 digits, 必須)
    designation_number: int  # 指定番号 (the municipality's number for the payer, not a 個人番号)
    specific_relatives: tuple[int, ...]  # 特定親族特別控除 columns (令和7年分 on), unconfirmed
    creation_kind: int  # 作成区分 (CREATION_KINDS), the last column
    # The 統一CSV has no 年末調整 flag in either source read; whether a slip was year-end
    # adjusted shows only through the amounts. Kept as a field so a later spec can add one.
    year_end_adjustment: int | None = None

    def named_columns(self) -> dict[str, int]:
        """Every single-column field by name, for checks and for building rows."""
        out: dict[str, int] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("label", "width") or value is None:
                continue
            items = value if isinstance(value, tuple) else (value,)
            for i, item in enumerate(items):
                name = f.name if items is not value else f"{f.name}[{i}]"
                if isinstance(item, RelativeColumns):
                    for part in _PARTS:
                        out[f"{name}.{part}"] = getattr(item, part)
                else:
                    out[name] = item
        return out


REIWA_6 = UnifiedCsvLayout(
    label="令和6年分",
    width=144,  # luca-jp writes 144 columns for years up to 2024
    record_code=0,
    payer_address=3,
    payer_name=4,
    payer_phone=5,
    submission_kind=9,
    year=10,
    recipient_address=11,
    recipient_abroad=12,
    recipient_name=13,
    recipient_title=14,
    payment_kind=15,
    payment_amount=16,
    after_deduction=18,
    deductions_total=19,
    tax_withheld=20,
    social_insurance=35,
    birth_era=43,
    birth_year=44,
    birth_month=45,
    birth_day=46,
    mid_year_kind=59,
    mid_year_year=60,
    mid_year_month=61,
    mid_year_day=62,
    remarks=85,
    under_16_count=90,
    payer_corporate_number=93,
    recipient_number=94,
    spouse=RelativeColumns(95, 96, 97, 98),
    dependents=_relatives(99, 4),
    under_16=_relatives(115, 4),
    extra_dependents=131,
    extra_under_16=132,
    kana_name=136,
    employee_code=137,
    municipality_code=138,
    designation_number=139,
    # 140 基礎控除の額, 141 所得金額調整控除額, 142 ひとり親 (luca-jp only)
    specific_relatives=(),
    creation_kind=143,
)

# 令和7年分: three 特定親族特別控除 columns before 作成区分 (luca-jp writes them blank, unnamed;
# what each holds is unconfirmed).
REIWA_7 = dataclasses.replace(
    REIWA_6, label="令和7年分", width=147, specific_relatives=(143, 144, 145), creation_kind=146
)

LAYOUTS: dict[int, UnifiedCsvLayout] = {2024: REIWA_6, 2025: REIWA_7}


class UnsupportedYear(ValueError):
    pass


def layout_for(year: int) -> UnifiedCsvLayout:
    """The layout for income of calendar ``year``; no guessing for a year nobody checked."""
    try:
        return LAYOUTS[year]
    except KeyError:
        known = ", ".join(str(y) for y in sorted(LAYOUTS))
        raise UnsupportedYear(
            f"no 統一CSV layout is known for the income year {year} (known: {known}); "
            "add one in mnvault/usage/layouts/unified_csv.py from that year's 仕様書"
        ) from None


def number_columns(layout: UnifiedCsvLayout) -> list[int]:
    """Every column that may hold a 個人番号 or 法人番号, including the two text columns for the
    fifth relative onwards, which embed numbers in text: what a number-free copy must blank."""
    relatives = (layout.spouse, *layout.dependents, *layout.under_16)
    return [
        layout.payer_corporate_number,
        layout.recipient_number,
        *(r.number for r in relatives),
        layout.extra_dependents,
        layout.extra_under_16,
    ]
