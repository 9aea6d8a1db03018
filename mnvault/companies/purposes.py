"""The legal set of purposes (利用目的), one per 個人番号関係事務 (domain R11).

A number may be used only for a purpose in this set that the company notifies and that was
notified to that person when the number was collected — never for anything else, not even with
consent.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    WITHHOLDING = "withholding", _("Withholding slips")
    SOCIAL_INSURANCE = (
        "social_insurance",
        _("Health insurance and pension filings"),
    )
    EMPLOYMENT_INSURANCE = (
        "employment_insurance",
        _("Employment insurance filings"),
    )
    NATIONAL_PENSION_3 = (
        "national_pension_3",
        _("National pension category 3 filings"),
    )
    WORKERS_COMPENSATION = (
        "workers_compensation",
        _("Workers' compensation claims"),
    )
    FEE_PAYMENT_RECORDS = (
        "fee_payment_records",
        _("Payment records for fees"),
    )
    REAL_ESTATE_RECORDS = (
        "real_estate_records",
        _("Payment records for real-estate rent"),
    )
    REAL_ESTATE_PURCHASE_RECORDS = (
        "real_estate_purchase_records",
        _("Payment records for real-estate purchases"),
    )


def parse_purposes(text: str) -> list[str]:
    """Purpose codes from a list separated by semicolons, commas or spaces; raises ValueError
    naming the first unknown code."""
    codes = [c for c in text.replace(",", " ").replace(";", " ").split() if c]
    for code in codes:
        if code not in Purpose.values:
            raise ValueError(code)
    return list(dict.fromkeys(codes))
