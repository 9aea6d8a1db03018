"""Which documents must go to the tax office, and when e-filing becomes mandatory.

Kept as data in one place (domain R33, R34, R36). Sources: docs/formats.md "Which documents
must be filed" — R33's figures from an OBC support article consistent with the NTA's page;
R34's from secondary sources, **unconfirmed against the NTA's own text**; R36 from NTA No.7455
as summarised by a tax news site (the 30-document rule applies to filings from 2027-01-01).
"""

from __future__ import annotations

from datetime import date

# R33: 源泉徴収票 to the tax office, after 年末調整 (year-end adjustment).
ADJUSTED_OFFICER = 1_500_000  # 役員
ADJUSTED_PROFESSIONAL = 2_500_000  # 弁護士・税理士等 (not told apart by the 統一CSV: unused)
ADJUSTED_OTHERS = 5_000_000
# R33: without 年末調整.
LEAVER_OFFICER = 500_000
LEAVER_OTHERS = 2_500_000
HIGH_SALARY = 20_000_000  # salary over ¥20M: no 年末調整, always filed
SECONDARY_COLUMN = 500_000  # 乙欄・丙欄

# R34: 309 支払調書 per payee per year. The higher limit for these categories (substring of
# the 区分 as the input writes it); every other 報酬・料金 over ¥50,000.
PAYMENT_HIGH_CATEGORIES = (
    "外交員",
    "集金人",
    "検針人",
    "プロボクサー",
    "ホステス",
    "バンケットホステス",
    "コンパニオン",
    "広告宣伝",
    "診療報酬",
)
PAYMENT_HIGH = 500_000
PAYMENT_OTHERS = 50_000

# R36: e-filing is mandatory when the count of the document type filed two years earlier
# reached this.
EFILING_FROM_2027 = 30
EFILING_BEFORE_2027 = 100
EFILING_CHANGE = date(2027, 1, 1)


def withholding_to_tax_office(
    amount: int, *, officer: bool, adjusted: bool, left: bool, secondary: bool = False
) -> bool:
    """Whether a 源泉徴収票 goes to the tax office (R33). ``left``: the employee left during
    the year (中途退職); ``secondary``: taxed under 乙欄/丙欄."""
    if amount > HIGH_SALARY:
        return True
    if secondary:
        return amount > SECONDARY_COLUMN
    if left or not adjusted:
        return amount > (LEAVER_OFFICER if officer else LEAVER_OTHERS)
    return amount > (ADJUSTED_OFFICER if officer else ADJUSTED_OTHERS)


def payment_required(category: str, total: int) -> bool:
    """Whether a 309 支払調書 is required for a payee's ``total`` of the year (R34)."""
    high = any(name in category for name in PAYMENT_HIGH_CATEGORIES)
    return total > (PAYMENT_HIGH if high else PAYMENT_OTHERS)


def efiling_threshold(filed_on: date) -> int:
    return EFILING_FROM_2027 if filed_on >= EFILING_CHANGE else EFILING_BEFORE_2027


def filing_date(year: int) -> date:
    """The 法定調書 of ``year`` are filed by 31 January of the next year."""
    return date(year + 1, 1, 31)
