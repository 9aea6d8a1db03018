"""Every document kind mnvault produces, by code: one module each (``base.DocumentKind``)."""

from __future__ import annotations

from mnvault.usage.kinds import insurance, payment_fees, register, withholding
from mnvault.usage.kinds.base import DocumentKind

KINDS: dict[str, DocumentKind] = {
    kind.code: kind
    for kind in (
        withholding.KIND,
        payment_fees.KIND,
        register.KIND,
        insurance.EMPLOYMENT_ACQUISITION,
        insurance.EMPLOYMENT_LOSS,
        insurance.HEALTH_PENSION_ACQUISITION,
    )
}

__all__ = ["KINDS", "DocumentKind"]
