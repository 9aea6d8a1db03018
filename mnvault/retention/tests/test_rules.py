"""The retention rules, with boundary dates: the day before, of and after each end."""

from datetime import date

import pytest
from django.utils import translation

from mnvault.retention.rules import (
    Declaration,
    Facts,
    Hold,
    InsuranceMatter,
    InsuranceStart,
    declaration_end,
    disposal_date,
    holds,
    insurance_end,
    remaining,
)

D = date
EMPLOYEE_ID = 1
CHILD = 2
SPOUSE = 3


def rules_on(facts, on, **kwargs):
    """The rules of the holds in force on `on`, sorted, for compact tables."""
    return sorted(hold.rule for hold in remaining(holds(facts, **kwargs), on))


def ends(facts, **kwargs):
    return {(hold.rule, hold.ends_on) for hold in holds(facts, **kwargs)}


def employee(**kwargs):
    return Facts(kind="employee", person_id=EMPLOYEE_ID, hire_date=D(2020, 4, 1), **kwargs)


# --- R25: declarations ----------------------------------------------------------------------

R25_EXAMPLE = employee(leave_date=D(2025, 6, 30), employed=False, declarations=(Declaration(2025),))


def test_it_keeps_a_2025_declaration_until_10_january_2033():
    assert declaration_end(2025) == D(2033, 1, 10)
    assert disposal_date(holds(R25_EXAMPLE)) == D(2033, 1, 11)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2033, 1, 9), ["declaration"]),
        (D(2033, 1, 10), ["declaration"]),
        (D(2033, 1, 11), []),
    ],
)
def test_it_holds_the_r25_example_through_its_last_day(on, expected):
    assert rules_on(R25_EXAMPLE, on) == expected


LEAVER = employee(
    leave_date=D(2026, 3, 31),
    employed=False,
    declarations=(Declaration(2026), Declaration(2025)),
)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2026, 3, 30), ["declaration", "declaration", "employment"]),
        (D(2026, 3, 31), ["declaration", "declaration", "employment"]),
        (D(2026, 4, 1), ["declaration", "declaration"]),
        (D(2033, 1, 10), ["declaration", "declaration"]),
        (D(2033, 1, 11), ["declaration"]),
        (D(2034, 1, 9), ["declaration"]),
        (D(2034, 1, 10), ["declaration"]),
        (D(2034, 1, 11), []),
    ],
)
def test_a_leaver_with_two_declaration_years_is_kept_for_the_later(on, expected):
    assert rules_on(LEAVER, on) == expected


def test_a_leaver_with_two_declaration_years_is_disposable_after_the_later_end():
    assert ends(LEAVER) == {
        ("employment", D(2026, 3, 31)),
        ("declaration", D(2033, 1, 10)),
        ("declaration", D(2034, 1, 10)),
    }
    assert disposal_date(holds(LEAVER)) == D(2034, 1, 11)


def test_two_declarations_of_one_form_and_year_are_one_hold():
    facts = employee(declarations=(Declaration(2025), Declaration(2025, dependents=(CHILD,))))
    assert [h.rule for h in holds(facts)].count("declaration") == 1


def test_each_form_of_declaration_is_a_hold_of_its_own():
    facts = employee(declarations=(Declaration(2025), Declaration(2025, form="insurance_premium")))
    assert [h.rule for h in holds(facts)].count("declaration") == 2


# --- R29: employment ------------------------------------------------------------------------


def test_an_employee_without_a_leave_date_is_held_open_ended():
    found = holds(employee(declarations=(Declaration(2025),)))
    assert ("employment", None) in {(h.rule, h.ends_on) for h in found}
    assert disposal_date(found) is None


def test_a_leaver_without_a_recorded_leave_date_stays_held():
    assert disposal_date(holds(employee(employed=False))) is None


@pytest.mark.parametrize(
    ("on", "expected"),
    [(D(2027, 9, 29), ["employment"]), (D(2027, 9, 30), ["employment"]), (D(2027, 10, 1), [])],
)
def test_a_leave_date_ahead_is_already_a_reservation(on, expected):
    """Set while the person is still employed (on leave or posted abroad: still employed)."""
    facts = employee(leave_date=D(2027, 9, 30))
    assert rules_on(facts, on) == expected
    assert disposal_date(holds(facts)) == D(2027, 10, 1)


# --- R26: the register ------------------------------------------------------------------------

REGISTER = employee(
    leave_date=D(2026, 12, 31),
    employed=False,
    declarations=(
        Declaration(2024, without_numbers=True),
        Declaration(2025),
        Declaration(2026, without_numbers=True),
    ),
)


def test_the_register_lasts_until_the_last_declaration_without_numbers():
    assert ends(REGISTER) == {
        ("employment", D(2026, 12, 31)),
        ("declaration", D(2033, 1, 10)),  # 2025, with numbers; 2024 and 2026 bear none
        ("register", D(2034, 1, 10)),
    }
    assert disposal_date(holds(REGISTER)) == D(2034, 1, 11)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2034, 1, 9), ["register"]),
        (D(2034, 1, 10), ["register"]),
        (D(2034, 1, 11), []),
    ],
)
def test_the_register_holds_through_its_last_day(on, expected):
    assert rules_on(REGISTER, on) == expected


def test_declarations_with_numbers_keep_no_register():
    assert "register" not in {h.rule for h in holds(LEAVER)}


# --- Payees ---------------------------------------------------------------------------------


def payee(**kwargs):
    return Facts(kind="payee", person_id=9, **kwargs)


@pytest.mark.parametrize(
    ("facts", "on", "expected"),
    [
        # 2026 payments, 支払調書 not recorded: its deadline, 31 January 2027.
        (payee(last_payment_year=2026), D(2027, 1, 30), ["payee"]),
        (payee(last_payment_year=2026), D(2027, 1, 31), ["payee"]),
        (payee(last_payment_year=2026), D(2027, 2, 1), []),
        # Submitted late, on 15 March 2027: kept until then, not to the deadline.
        (
            payee(last_payment_year=2026, payment_record_submitted_on=D(2027, 3, 15)),
            D(2027, 3, 14),
            ["payee"],
        ),
        (
            payee(last_payment_year=2026, payment_record_submitted_on=D(2027, 3, 15)),
            D(2027, 3, 15),
            ["payee"],
        ),
        (
            payee(last_payment_year=2026, payment_record_submitted_on=D(2027, 3, 15)),
            D(2027, 3, 16),
            [],
        ),
        # Submitted early: disposable from the day after, before the deadline.
        (
            payee(last_payment_year=2026, payment_record_submitted_on=D(2027, 1, 15)),
            D(2027, 1, 16),
            [],
        ),
        # Nothing paid yet, contract until 30 June 2027.
        (payee(contract_end=D(2027, 6, 30)), D(2027, 6, 29), ["payee.contract"]),
        (payee(contract_end=D(2027, 6, 30)), D(2027, 6, 30), ["payee.contract"]),
        (payee(contract_end=D(2027, 6, 30)), D(2027, 7, 1), []),
    ],
)
def test_a_payee_is_held_until_the_last_payment_record(facts, on, expected):
    assert rules_on(facts, on) == expected


def test_a_payee_whose_last_payment_record_is_submitted_late_is_disposable_the_day_after():
    facts = payee(last_payment_year=2026, payment_record_submitted_on=D(2027, 3, 15))
    assert disposal_date(holds(facts)) == D(2027, 3, 16)


def test_a_late_payment_record_still_pending_keeps_the_number():
    facts = payee(last_payment_year=2026, payment_record_pending=True)
    assert rules_on(facts, D(2027, 6, 1)) == ["payee"]
    assert disposal_date(holds(facts)) is None


def test_a_payee_is_not_kept_in_case_trading_resumes():
    """Payments and no contract end: the missing end date keeps nothing."""
    assert ends(payee(last_payment_year=2026)) == {("payee", D(2027, 1, 31))}


def test_a_payee_with_a_running_contract_is_kept_to_its_end():
    facts = payee(
        last_payment_year=2026,
        payment_record_submitted_on=D(2027, 1, 20),
        contract_end=D(2027, 12, 31),
    )
    assert disposal_date(holds(facts)) == D(2028, 1, 1)


def test_a_payee_with_nothing_paid_and_no_contract_end_is_held_open():
    assert ends(payee()) == {("payee.contract", None)}


# --- R27: insurance -------------------------------------------------------------------------

COMPLETED = D(2025, 3, 15)


@pytest.mark.parametrize(
    ("kind", "last_day"),
    [
        ("health_pension", D(2027, 3, 15)),
        ("employment", D(2027, 3, 15)),
        ("employment_insured", D(2029, 3, 15)),
        ("workers_comp", D(2028, 3, 15)),
    ],
)
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_insurance_documents_are_kept_from_the_day_after_completion(kind, last_day, offset):
    facts = employee(leave_date=D(2025, 3, 15), insurance=(InsuranceMatter(kind, COMPLETED),))
    on = D.fromordinal(last_day.toordinal() + offset)
    assert rules_on(facts, on) == ([] if offset > 0 else [f"insurance.{kind}"])


@pytest.mark.parametrize(
    ("kind", "completed_on", "start", "last_day"),
    [
        ("health_pension", COMPLETED, InsuranceStart.SAME_DAY, D(2027, 3, 14)),
        ("employment_insured", COMPLETED, InsuranceStart.SAME_DAY, D(2029, 3, 14)),
        # Counting from 29 February 2024: no 29 February in 2026, the month's last day ends it.
        ("health_pension", D(2024, 2, 28), InsuranceStart.DAY_AFTER, D(2026, 2, 28)),
        ("employment_insured", D(2024, 2, 28), InsuranceStart.DAY_AFTER, D(2028, 2, 28)),
        ("health_pension", D(2024, 2, 29), InsuranceStart.SAME_DAY, D(2026, 2, 28)),
        ("workers_comp", D(2024, 2, 29), InsuranceStart.DAY_AFTER, D(2027, 2, 28)),
    ],
)
def test_the_insurance_count_follows_the_civil_code(kind, completed_on, start, last_day):
    assert insurance_end(InsuranceMatter(kind, completed_on), start) == last_day


def test_the_insurance_start_is_a_setting():
    facts = employee(
        leave_date=D(2025, 3, 15), insurance=(InsuranceMatter("health_pension", COMPLETED),)
    )
    assert disposal_date(holds(facts)) == D(2027, 3, 16)
    assert disposal_date(holds(facts, insurance_start=InsuranceStart.SAME_DAY)) == D(2027, 3, 15)


def test_the_latest_matter_of_a_kind_decides():
    facts = employee(
        leave_date=D(2025, 3, 15),
        insurance=(
            InsuranceMatter("employment", D(2025, 9, 1)),
            InsuranceMatter("employment", COMPLETED),
        ),
    )
    assert ends(facts) == {("employment", D(2025, 3, 15)), ("insurance.employment", D(2027, 9, 1))}


def test_an_unknown_insurance_kind_is_refused():
    with pytest.raises(ValueError, match="insurance kind"):
        holds(employee(insurance=(InsuranceMatter("pension_fund", COMPLETED),)))


# --- Dependents -------------------------------------------------------------------------------


def dependent(of, person_id=CHILD, **kwargs):
    return Facts(kind="dependent", person_id=person_id, employee=of, **kwargs)


STILL_EMPLOYED = employee(
    declarations=(
        Declaration(2024, dependents=(CHILD, SPOUSE)),
        Declaration(2025, dependents=(SPOUSE,)),
    )
)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2032, 1, 9), ["dependent"]),
        (D(2032, 1, 10), ["dependent"]),
        (D(2032, 1, 11), []),
    ],
)
def test_a_dependent_removed_from_the_declaration_is_kept_for_the_last_one_listing_them(
    on, expected
):
    """Listed in 2024's declaration, not in 2025's: the employee still works there."""
    assert rules_on(dependent(STILL_EMPLOYED), on) == expected


def test_a_removed_dependent_is_disposable_while_their_employee_stays():
    assert disposal_date(holds(dependent(STILL_EMPLOYED))) == D(2032, 1, 11)


def test_a_dependent_on_the_latest_declaration_is_kept_while_their_employee_is_employed():
    found = holds(dependent(STILL_EMPLOYED, person_id=SPOUSE))
    assert {(h.rule, h.ends_on) for h in found} == {
        ("dependent", D(2032, 1, 10)),
        ("dependent", D(2033, 1, 10)),
        ("dependent.employment", None),
    }
    assert disposal_date(found) is None


def test_a_dependent_not_yet_listed_follows_their_employees_employment():
    left = employee(leave_date=D(2026, 5, 31), employed=False, declarations=(Declaration(2025),))
    assert ends(dependent(left)) == {("dependent.employment", D(2026, 5, 31))}
    assert disposal_date(holds(dependent(left))) == D(2026, 6, 1)


def test_a_dependent_listed_without_numbers_is_held_as_long():
    left = employee(
        leave_date=D(2026, 5, 31),
        employed=False,
        declarations=(Declaration(2026, without_numbers=True, dependents=(CHILD,)),),
    )
    assert disposal_date(holds(dependent(left))) == D(2034, 1, 11)


def test_a_dependents_own_insurance_matters_hold_them():
    left = employee(leave_date=D(2025, 3, 15), employed=False)
    facts = dependent(left, insurance=(InsuranceMatter("health_pension", COMPLETED),))
    assert disposal_date(holds(facts)) == D(2027, 3, 16)


def test_a_dependent_without_their_employee_is_refused():
    with pytest.raises(ValueError, match="employee"):
        holds(Facts(kind="dependent", person_id=CHILD))


# --- Reading the holds ------------------------------------------------------------------------


def hold(rule, ends_on):
    return Hold(rule, rule, "test", ends_on)


def test_the_disposal_date_is_the_day_after_the_latest_end():
    found = [hold("a", D(2030, 1, 1)), hold("b", D(2033, 1, 10)), hold("c", D(2028, 5, 5))]
    assert disposal_date(found) == D(2033, 1, 11)


def test_one_open_hold_leaves_no_disposal_date():
    assert disposal_date([hold("a", D(2030, 1, 1)), hold("b", None)]) is None


def test_no_holds_is_refused_rather_than_disposable_now():
    with pytest.raises(ValueError, match="no holds"):
        disposal_date([])


def test_remaining_lists_what_is_still_in_force_latest_first():
    found = [
        hold("a", D(2030, 1, 1)),
        hold("open", None),
        hold("b", D(2033, 1, 10)),
        hold("past", D(2026, 1, 1)),
    ]
    assert [h.rule for h in remaining(found, D(2030, 1, 1))] == ["open", "b", "a"]
    assert [h.rule for h in remaining(found, D(2030, 1, 2))] == ["open", "b"]
    assert remaining([hold("past", D(2026, 1, 1))], D(2026, 1, 2)) == []


def test_an_unknown_kind_of_person_is_refused():
    with pytest.raises(ValueError, match="kind of person"):
        holds(Facts(kind="officer"))


# --- Labels ---------------------------------------------------------------------------------


def test_labels_read_in_japanese():
    found = holds(REGISTER)
    with translation.override("ja"):
        labels = {h.rule: str(h.label) for h in found}
    assert labels["declaration"] == "扶養控除等(異動)申告書 2025年分"
    assert "2026年分" in labels["register"]
    with translation.override("en"):
        assert str(found[1].label).endswith("for 2025")


def test_every_hold_cites_its_rule():
    facts = employee(
        declarations=(Declaration(2025), Declaration(2026, without_numbers=True)),
        insurance=tuple(InsuranceMatter(k, COMPLETED) for k in ("health_pension", "workers_comp")),
    )
    for found in holds(facts):
        assert found.source.startswith("domain R")
