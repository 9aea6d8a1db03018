"""Which of a company's purposes (利用目的, domain R11) fit which kind of person.

A payee's number serves the payment records (支払調書); an employee's the withholding slips and
the insurance filings; a dependent's number, verified by the employee (R23), the withholding
declaration (扶養控除等申告書) and the health-insurance dependant filings — not the
国民年金第3号被保険者届, for which the employer verifies the spouse itself (R23). A number is
never notified for a purpose its person's kind does not have.
"""

from __future__ import annotations

from collections.abc import Iterable

from mnvault.companies.purposes import Purpose
from mnvault.people.models import PersonKind

PAYEE_PURPOSES = frozenset(
    {
        Purpose.FEE_PAYMENT_RECORDS,
        Purpose.REAL_ESTATE_RECORDS,
        Purpose.REAL_ESTATE_PURCHASE_RECORDS,
    }
)
DEPENDENT_PURPOSES = frozenset({Purpose.WITHHOLDING, Purpose.SOCIAL_INSURANCE})
EMPLOYEE_PURPOSES = frozenset(Purpose.values) - PAYEE_PURPOSES

FITTING: dict[str, frozenset[str]] = {
    PersonKind.EMPLOYEE: EMPLOYEE_PURPOSES,
    PersonKind.DEPENDENT: DEPENDENT_PURPOSES,
    PersonKind.PAYEE: PAYEE_PURPOSES,
}


def purposes_for_kind(notified: Iterable[str], kind: str) -> list[str]:
    """The purposes among ``notified`` that fit a person of ``kind``, in the legal set's
    order."""
    chosen = set(notified) & FITTING[kind]
    return [code for code in Purpose.values if code in chosen]
