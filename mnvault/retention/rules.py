"""Retention holds: why a person's number must still be kept, and until when (domain R25–R30).

The law obliges the company to delete a number as soon as no document that bears it and no work
that needs it remains (R29), so the disposal date is computed from facts, never typed: each rule
below turns facts about one person into *holds*, each naming its rule, its source and the last
day it lasts; the disposal date is the day after the latest (R29). mnvault keeps a person's
numbers in one file for all purposes, so they go when the last purpose ends (R30).

Pure on purpose: no database and no models, so the queue, the person page, the scheduler and the
tests all ask the same functions with plain facts.

Periods are counted as the Civil Code counts periods in years (民法 §140, §143): the first day is
not counted, and a period ends on the day before the anniversary of its first day (the last day
of the month when that anniversary does not exist). R25's own example (2025 分 → kept until
2033-01-10) is the same count, which the tests check.

Not a hold, on purpose: the employer's copy of a 源泉徴収票 has no statutory retention period
(R28), so it never keeps a number; whether copies of 支払調書 must be kept is **unconfirmed** (R28)
— they are not treated as a hold here either.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- Periods, in one place, with their sources ----------------------------------------------

# R25: withholding declarations are kept 7 years from the day after 10 January of the year
# after Y, the year containing the filing deadline (所得税法施行規則 §76-3); that is, until
# (Y+8)-01-10. domain.md applies the same period to every withholding declaration; it was not
# confirmed here form by form against each regulation.
DECLARATION_YEARS = 7
DECLARATION_COUNT_AFTER = (1, 10)  # (month, day) of the year after Y; counting starts next day
DECLARATION_SOURCE = "domain R25; 所得税法施行規則 §76-3"
REGISTER_SOURCE = "domain R26; 所得税法施行規則 §76-3"

# 支払調書 (報酬、料金等) are due at the tax office by 31 January of the year after the payments
# (所得税法 §225). Used when the provision ledger records no submission.
PAYMENT_RECORD_DEADLINE = (1, 31)  # (month, day) of the year after the last payments
PAYEE_SOURCE = "domain R29; 所得税法 §225"

EMPLOYMENT_SOURCE = "domain R29"
DEPENDENT_SOURCE = "domain R25, R29"

# R27: social- and employment-insurance documents, counted from the day the matter is
# completed (完結の日). Articles checked against secondary reproductions only, not e-Gov:
# 雇用保険法施行規則 §143 (2 years, insured persons 4: bridge2n.jp, rodo.co.jp's text),
# 労災保険法施行規則 §51 (3 years: rodo.co.jp's text), 健康保険法施行規則 §34 (2 years: a
# 社労士 textbook); 厚生年金保険法施行規則 §28 (2 years) is **unconfirmed**. The count's start
# (the day after completion, 民法 §140) is our reading, **unconfirmed**; 労災保険法 §43 says
# its periods follow the Civil Code. R27 asks for the start to be configurable: InsuranceStart.
INSURANCE_YEARS: dict[str, int] = {
    "health_pension": 2,  # 健康保険・厚生年金保険
    "employment": 2,  # 雇用保険
    "employment_insured": 4,  # 雇用保険, documents about insured persons (被保険者に関する書類)
    "workers_comp": 3,  # 労災保険
}
INSURANCE_SOURCES: dict[str, str] = {
    "health_pension": "domain R27; 健康保険法施行規則 §34, 厚生年金保険法施行規則 §28",
    "employment": "domain R27; 雇用保険法施行規則 §143",
    "employment_insured": "domain R27; 雇用保険法施行規則 §143",
    "workers_comp": "domain R27; 労働者災害補償保険法施行規則 §51",
}
INSURANCE_LABELS: dict[str, StrOrPromise] = {
    "health_pension": _("Health and pension insurance documents"),
    "employment": _("Employment insurance documents"),
    "employment_insured": _("Employment insurance documents about the insured person"),
    "workers_comp": _("Workers' compensation insurance documents"),
}


class InsuranceStart:
    """Where R27's count starts; a company setting (R27: "keep the start day configurable")."""

    DAY_AFTER = "day_after"  # 民法 §140: the day of completion is not counted (default)
    SAME_DAY = "same_day"  # the day of completion counts as the first day (one day shorter)

    ALL = frozenset({DAY_AFTER, SAME_DAY})


# The withholding declarations (R25) a handler records; all share R25's period.
DECLARATION_FORMS: dict[str, StrOrPromise] = {
    "dependents": _("Declaration of dependents (扶養控除等申告書)"),
    "secondary": _("Declaration of dependents, secondary salary"),
    "basic_spouse": _("Declaration for the basic and spouse deductions"),
    "insurance_premium": _("Declaration for insurance premium deductions"),
    "retirement": _("Declaration for the receipt of retirement income"),
    "other": _("Other withholding declaration"),
}

PERSON_KINDS = frozenset({"employee", "dependent", "payee"})


# --- Facts and holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """A withholding declaration received (扶養控除等(異動)申告書 or another, R25).

    `year` is the 年分 (for these declarations, the year containing the filing deadline: R25's
    Y). `dependents` are the person ids of the dependents it lists.
    """

    year: int
    without_numbers: bool = False  # filed without numbers, relying on the register (R26)
    dependents: tuple[int, ...] = ()
    form: str = "dependents"  # a key of DECLARATION_FORMS


@dataclass(frozen=True)
class InsuranceMatter:
    """A social- or employment-insurance matter and the day it was completed (R27)."""

    kind: str  # a key of INSURANCE_YEARS
    completed_on: date


@dataclass(frozen=True)
class Facts:
    """What the rules read about one person; built by the caller from the records."""

    kind: str  # "employee" | "dependent" | "payee"
    person_id: int | None = None
    hire_date: date | None = None  # read by no rule: a number collected before it is held too
    leave_date: date | None = None  # employees: the last day of employment
    employed: bool = True  # False for a leaver with leave_date set
    contract_end: date | None = None  # payees
    last_payment_year: int | None = None  # payees: last year with payments
    payment_record_submitted_on: date | None = None  # that year's 支払調書, provision ledger
    # Payees: the provision ledger shows that year's 支払調書 is required but not yet
    # submitted (late): the work still needs the number, so the hold stays open.
    payment_record_pending: bool = False
    declarations: tuple[Declaration, ...] = ()  # an employee's; for a dependent: their employee's
    insurance: tuple[InsuranceMatter, ...] = ()
    employee: Facts | None = None  # for a dependent: their employee's facts


@dataclass(frozen=True)
class Hold:
    """One reason to keep the number, with the last day it lasts (None: no end known yet)."""

    rule: str
    label: StrOrPromise
    source: str
    ends_on: date | None


# --- Counting ---------------------------------------------------------------------------------


def _anniversary(start: date, years: int) -> date:
    """The day corresponding to `start` `years` later; 1 March when it would be 29 February
    of a common year, so that the day before it is the last day of February (民法 §143 ②)."""
    year = start.year + years
    if start.month == 2 and start.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return start.replace(year=year)


def period_end(first_day: date, years: int) -> date:
    """The last day of a period of `years` years whose first counted day is `first_day`
    (民法 §143: the day before the corresponding day)."""
    return _anniversary(first_day, years) - timedelta(days=1)


def declaration_end(year: int) -> date:
    """R25: the last day a declaration of year Y is kept — (Y+8)-01-10."""
    month, day = DECLARATION_COUNT_AFTER
    return period_end(date(year + 1, month, day) + timedelta(days=1), DECLARATION_YEARS)


def insurance_end(matter: InsuranceMatter, start: str = InsuranceStart.DAY_AFTER) -> date:
    """R27: the last day documents of a completed insurance matter are kept."""
    if matter.kind not in INSURANCE_YEARS:
        raise ValueError(f"unknown insurance kind: {matter.kind!r}")
    if start not in InsuranceStart.ALL:
        raise ValueError(f"unknown insurance start: {start!r}")
    first = matter.completed_on
    if start == InsuranceStart.DAY_AFTER:
        first += timedelta(days=1)
    return period_end(first, INSURANCE_YEARS[matter.kind])


# --- The rules ----------------------------------------------------------------------------


def _declaration_label(declaration: Declaration) -> StrOrPromise:
    if declaration.form not in DECLARATION_FORMS:
        raise ValueError(f"unknown declaration form: {declaration.form!r}")
    return format_lazy(
        _("{form} for {year}"), form=DECLARATION_FORMS[declaration.form], year=declaration.year
    )


def employment_holds(facts: Facts) -> Iterator[Hold]:
    """R29: kept while employed, including leave and posting abroad; ends on the leave date.

    The leave date decides, also when it lies ahead (a "reservation" visible before the person
    leaves); without one the hold is open-ended, whatever `employed` says.
    """
    if facts.leave_date is not None:
        label = _("Employment (until the leave date)")
    elif facts.employed:
        label = _("Employment (still employed)")
    else:
        label = _("Employment (leave date not recorded)")
    yield Hold("employment", label, EMPLOYMENT_SOURCE, facts.leave_date)


def declaration_holds(facts: Facts) -> Iterator[Hold]:
    """R25: each declaration that bears the number is kept until (Y+8)-01-10.

    A declaration filed without numbers does not bear the number; the register does (R26).
    """
    seen: set[tuple[str, int]] = set()
    for declaration in sorted(facts.declarations, key=lambda d: (d.year, d.form)):
        key = (declaration.form, declaration.year)
        if declaration.without_numbers or key in seen:
            continue
        seen.add(key)
        yield Hold(
            "declaration",
            _declaration_label(declaration),
            DECLARATION_SOURCE,
            declaration_end(declaration.year),
        )


def register_holds(facts: Facts) -> Iterator[Hold]:
    """R26: the number register kept instead of numbers on the declarations lasts until the
    retention end of the last declaration filed without numbers.

    Counted per person: a person's entry in the register serves only their own declarations.
    """
    years = [d.year for d in facts.declarations if d.without_numbers]
    if not years:
        return
    last = max(years)
    label = format_lazy(
        _("Number register, for declarations without numbers up to {year}"), year=last
    )
    yield Hold("register", label, REGISTER_SOURCE, declaration_end(last))


def payee_holds(facts: Facts) -> Iterator[Hold]:
    """R29: a payee's number serves the 支払調書 for their last year of payments, and no longer
    — never "in case trading resumes".

    - With payments: until the 支払調書 for the last year is submitted (the provision ledger's
      date, also when late), else its deadline, 31 January of the next year; open while the
      ledger shows it required but not yet submitted.
    - The contract, while it runs, keeps the number too (payments are still to come): until
      `contract_end`. Without a contract end, it is open-ended only while no payment has been
      recorded (a contract signed, nothing paid yet); once there are payments, a missing end
      date is no reason to keep the number.
    """
    if facts.contract_end is not None or facts.last_payment_year is None:
        label = (
            _("Contract (until its end)")
            if facts.contract_end is not None
            else _("Contract (no end date, no payments recorded)")
        )
        yield Hold("payee.contract", label, PAYEE_SOURCE, facts.contract_end)
    if facts.last_payment_year is None:
        return
    year = facts.last_payment_year
    if facts.payment_record_submitted_on is not None:
        template = _("Payment record (支払調書) for {year}, submitted")
        ends_on: date | None = facts.payment_record_submitted_on
    elif facts.payment_record_pending:
        template = _("Payment record (支払調書) for {year}, not yet submitted")
        ends_on = None
    else:
        template = _("Payment record (支払調書) for {year}, until its deadline")
        month, day = PAYMENT_RECORD_DEADLINE
        ends_on = date(year + 1, month, day)
    yield Hold("payee", format_lazy(template, year=year), PAYEE_SOURCE, ends_on)


def insurance_holds(facts: Facts, start: str = InsuranceStart.DAY_AFTER) -> Iterator[Hold]:
    """R27: insurance documents, from the day each matter was completed; one hold per kind,
    the latest matter of that kind deciding."""
    latest: dict[str, date] = {}
    for matter in facts.insurance:
        end = insurance_end(matter, start)
        latest[matter.kind] = max(end, latest.get(matter.kind, end))
    for kind in INSURANCE_YEARS:  # a stable order
        if kind in latest:
            yield Hold(
                f"insurance.{kind}", INSURANCE_LABELS[kind], INSURANCE_SOURCES[kind], latest[kind]
            )


def dependent_holds(facts: Facts) -> Iterator[Hold]:
    """A dependent's number is kept while a declaration that lists them is retained (R25; with
    or without numbers — then in the register, R26), and while their employee is employed
    (R29: the employee's year-end adjustment and insurance filings use it).

    The employment hold is dropped once the dependent has been *removed*: listed on an earlier
    year's declaration but on none of the latest year's. A dependent never listed yet (the
    declaration is still to come, a newborn) stays under it.
    """
    employee = facts.employee
    if employee is None:
        raise ValueError("a dependent's facts need their employee's facts")
    listing = sorted(
        (d for d in employee.declarations if facts.person_id in d.dependents),
        key=lambda d: d.year,
    )
    seen: set[tuple[str, int]] = set()
    for declaration in listing:
        key = (declaration.form, declaration.year)
        if key in seen:
            continue
        seen.add(key)
        label = format_lazy(
            _("Listed as a dependent: {declaration}"), declaration=_declaration_label(declaration)
        )
        yield Hold("dependent", label, DEPENDENT_SOURCE, declaration_end(declaration.year))
    if listing:
        latest_year = max(d.year for d in employee.declarations)
        if all(d.year != latest_year for d in listing):
            return  # removed from the declarations: nothing but their retention keeps it
    label = _("Their employee's employment")
    yield Hold("dependent.employment", label, "domain R29", employee.leave_date)


def holds(facts: Facts, *, insurance_start: str = InsuranceStart.DAY_AFTER) -> list[Hold]:
    """Every hold on one person's number. Never empty: each kind of person has a hold that
    stands for the work their number serves (employment, contract, their employee's)."""
    if facts.kind not in PERSON_KINDS:
        raise ValueError(f"unknown kind of person: {facts.kind!r}")
    found: list[Hold] = []
    if facts.kind == "employee":
        found += employment_holds(facts)
        found += declaration_holds(facts)
        found += register_holds(facts)
    elif facts.kind == "payee":
        found += payee_holds(facts)
    else:
        found += dependent_holds(facts)
    found += insurance_holds(facts, insurance_start)
    return found


# --- Reading holds ------------------------------------------------------------------------


def disposal_date(found: list[Hold]) -> date | None:
    """R29: the first day the number may be disposed of — the day after the latest end; None
    while any hold is open-ended.

    An empty list is refused: `holds` never returns one, so it means the caller lost the holds,
    and "disposable now" must not be the answer to a bug.
    """
    if not found:
        raise ValueError("no holds: a disposal date needs the person's holds")
    ends = [hold.ends_on for hold in found]
    if any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None) + timedelta(days=1)


def remaining(found: list[Hold], on: date) -> list[Hold]:
    """The holds still in force on `on` (a hold lasts through its `ends_on`), latest first:
    what to show when someone asks to dispose early (which hold remains and until when)."""
    left = [hold for hold in found if hold.ends_on is None or hold.ends_on >= on]
    return sorted(
        left, key=lambda hold: (hold.ends_on is None, hold.ends_on or date.min), reverse=True
    )
