"""The legal set of purposes (利用目的), one per 個人番号関係事務 (domain R11).

A number may be used only for a purpose in this set that the company notifies and that was
notified to that person when the number was collected — never for anything else, not even with
consent.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    WITHHOLDING = "withholding", _("源泉徴収票作成事務 (給与支払報告書を含む) / withholding slips")
    SOCIAL_INSURANCE = (
        "social_insurance",
        _("健康保険・厚生年金保険届出事務 / health insurance and pension filings"),
    )
    EMPLOYMENT_INSURANCE = (
        "employment_insurance",
        _("雇用保険届出事務 / employment insurance filings"),
    )
    NATIONAL_PENSION_3 = (
        "national_pension_3",
        _("国民年金第3号被保険者届出事務 / national pension category 3 filings"),
    )
    WORKERS_COMPENSATION = (
        "workers_compensation",
        _("労働者災害補償保険法に基づく請求事務 / workers' compensation claims"),
    )
    FEE_PAYMENT_RECORDS = (
        "fee_payment_records",
        _("報酬・料金等の支払調書作成事務 / payment records for fees"),
    )
    REAL_ESTATE_RECORDS = (
        "real_estate_records",
        _("不動産の使用料等の支払調書作成事務 / payment records for real-estate rent"),
    )
    REAL_ESTATE_PURCHASE_RECORDS = (
        "real_estate_purchase_records",
        _("不動産等の譲受けの対価の支払調書作成事務 / payment records for real-estate purchases"),
    )


def parse_purposes(text: str) -> list[str]:
    """Purpose codes from a list separated by semicolons, commas or spaces; raises ValueError
    naming the first unknown code."""
    codes = [c for c in text.replace(",", " ").replace(";", " ").split() if c]
    for code in codes:
        if code not in Purpose.values:
            raise ValueError(code)
    return list(dict.fromkeys(codes))
