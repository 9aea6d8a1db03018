"""No form hands a number back, whichever box it was typed into (review finding)."""

from __future__ import annotations

import pytest

from mnvault.conftest import ALL_DATABASES
from mnvault.web.admin_forms import GrantRoleForm, NetworkForm, NewUserForm, SettingsForm
from mnvault.web.company_forms import NewCompanyForm
from mnvault.web.forms import SignInForm
from mnvault.web.people_forms import NumberEntryForm, PersonForm

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def forms_with(company, number: str):
    """(form, field) pairs, each form bound with the number in that field."""
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    person = {"kind": "employee", "family_name": "山田", "given_name": "太郎"}
    entry = {
        "number": number,
        "document_kinds": ["my_number_card"],
        "verified_on": "2026-11-20",
        "purposes": ["withholding"],
    }
    yield PersonForm({**person, "kind": number}, company=company), "kind"
    yield PersonForm({**person, "relationship": number}, company=company), "relationship"
    yield PersonForm({**person, "birth_date": number}, company=company), "birth_date"
    yield PersonForm({**person, "family_name": number + "x" * 100}, company=company), "family_name"
    yield PersonForm({**person, "employee_code": spaced}, company=company), "employee_code"
    yield NumberEntryForm({**entry, "verified_on": number}, company=company), "verified_on"
    yield NumberEntryForm({**entry, "purposes": [number]}, company=company), "purposes"
    yield NumberEntryForm({**entry, "document_kinds": [number]}, company=company), "document_kinds"
    yield SettingsForm({"corporate_number": number, "data_country": "JP"}), "corporate_number"
    yield NewUserForm({"username": number, "password": "x"}), "username"
    yield NewUserForm({"username": "x", "full_name": number, "password": "x"}), "full_name"
    yield GrantRoleForm({"username": number, "role": "handler"}), "username"
    yield NetworkForm({"cidr": "192.0.2.0/24", "note": spaced}), "note"
    yield (
        NewCompanyForm(
            {
                "name": number,
                "purposes": ["withholding"],
                "manager_username": "m",
                "manager_password": "x",
            }
        ),
        "name",
    )
    yield (
        NewCompanyForm(
            {
                "name": "x",
                "purposes": ["withholding"],
                "manager_username": "m",
                "manager_full_name": spaced,
                "manager_password": "x",
            }
        ),
        "manager_full_name",
    )
    yield SignInForm({"username": number, "password": "x"}), "username"


def test_no_form_renders_a_number_typed_in_the_wrong_box(personas, make_number):
    number = make_number()
    checked = 0
    for form, field in forms_with(personas.company, number):
        assert not form.is_valid(), (type(form).__name__, field)
        page = form.as_div() + str(form.errors)
        for shown in (number, f"{number[:4]} {number[4:8]} {number[8:]}"):
            assert shown not in page, (type(form).__name__, field)
        checked += 1
    assert checked == 16


def test_the_check_can_fail(personas, make_number):
    """Without the protection, Django would echo the value: prove the test would notice."""
    from django import forms

    class Plain(forms.Form):
        kind = forms.ChoiceField(choices=[("a", "a")])

    number = make_number()
    form = Plain({"kind": number})
    assert not form.is_valid() and number in form.as_div() + str(form.errors)
