"""Adding and editing people, and entering a number in person (対面): who may, what is
checked, and that a typed number never comes back in a page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES
from mnvault.people.models import Person
from mnvault.vault.models import NumberRecord

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
EDITORS = ["company_admin", "staff", "handler", "responsible_manager"]


def new_url(personas):
    return reverse("web:person_new", args=[personas.company.pk])


def entry_url(personas, person):
    return reverse("web:number_entry", args=[personas.company.pk, person.pk])


def entry(number: str, **changes) -> dict:
    data = {
        "number": number,
        "document_kinds": ["my_number_card"],
        "verified_on": "2026-11-20",
        "purposes": ["withholding"],
    }
    return {**data, **changes}


@pytest.mark.parametrize("persona", EDITORS)
def test_editors_add_an_employee_and_a_dependent(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    response = client.post(
        new_url(personas),
        {
            "kind": "employee",
            "family_name": "高橋",
            "given_name": "健",
            "employee_code": "E900",
            "hire_date": "2024-04-01",
        },
    )
    employee = Person.objects.get(employee_code="E900")
    assert response["Location"] == reverse("web:person", args=[personas.company.pk, employee.pk])
    client.post(
        new_url(personas),
        {
            "kind": "dependent",
            "family_name": "高橋",
            "given_name": "陽菜",
            "employee": employee.pk,
            "relationship": "child",
        },
    )
    assert Person.objects.get(given_name="陽菜").employee == employee


@pytest.mark.parametrize("persona", ["auditor"])
def test_an_auditor_cannot_add_people(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    assert client.get(new_url(personas)).status_code == 404


def test_bad_input_is_refused_field_by_field(signed_in, personas, make_number):
    client = signed_in(personas.staff)
    number = make_number()
    response = client.post(
        new_url(personas),
        {
            "kind": "dependent",
            "family_name": "",
            "given_name": "太郎",
            "employee_code": number,
            "hire_date": "2024-04-01",
            "leave_date": "2020-01-01",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Person.objects.exists()
    for field in ("family_name", "employee_code", "employee", "leave_date"):
        assert f'id="id_{field}_error"' in page, field
    assert number not in page


def test_an_employee_of_another_company_cannot_be_chosen(signed_in, personas):
    from mnvault.conftest import make_person

    theirs = make_person(personas.other_company)
    client = signed_in(personas.staff)
    response = client.post(
        new_url(personas),
        {
            "kind": "dependent",
            "family_name": "x",
            "given_name": "y",
            "employee": theirs.pk,
            "relationship": "child",
        },
    )
    assert 'id="id_employee_error"' in response.content.decode()
    assert not Person.objects.filter(company=personas.company).exists()


def test_a_handler_enters_a_number_in_person(signed_in, personas, employee, make_number):
    number = make_number()
    client = signed_in(personas.handler)
    typed = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    response = client.post(entry_url(personas, employee), entry(typed))
    assert response.status_code == 302
    record = NumberRecord.objects.get(person=employee)
    assert (record.channel, record.verified_by, str(record.verified_on)) == (
        "in_person",
        personas.handler,
        "2026-11-20",
    )
    assert AuditEntry.objects.latest("seq").action == "number.store"


@pytest.mark.parametrize("persona", ["company_admin", "staff", "auditor"])
def test_other_roles_cannot_enter_numbers(signed_in, personas, employee, make_number, persona):
    client = signed_in(getattr(personas, persona))
    response = client.post(entry_url(personas, employee), entry(make_number()))
    assert response.status_code == 404 and not NumberRecord.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"document_kinds": ["notification_card"]}, "document_kinds"),
        ({"document_kinds": []}, "document_kinds"),
        ({"purposes": ["fee_payment_records"]}, "purposes"),
        ({"verified_on": "yesterday"}, "verified_on"),
    ],
)
def test_bad_verification_records_are_refused_without_echoing_the_number(
    signed_in, personas, employee, make_number, change, field
):
    number = make_number()
    client = signed_in(personas.handler)
    response = client.post(entry_url(personas, employee), entry(number, **change))
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and number not in page
    assert not NumberRecord.objects.exists()


def test_a_bad_check_digit_is_refused_without_echoing(signed_in, personas, employee, make_number):
    number = make_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    response = signed_in(personas.handler).post(entry_url(personas, employee), entry(wrong))
    page = response.content.decode()
    assert 'id="id_number_error"' in page and wrong not in page
    assert not NumberRecord.objects.exists()


def test_a_duplicate_is_refused_and_audited(signed_in, personas, employee, make_number):
    from mnvault.conftest import make_person

    number = make_number()
    client = signed_in(personas.handler)
    client.post(entry_url(personas, employee), entry(number))
    other = make_person(personas.company, given_name="次郎")
    response = client.post(entry_url(personas, other), entry(number))
    page = response.content.decode()
    assert 'role="alert"' in page and number not in page
    assert AuditEntry.objects.latest("seq").reason == "duplicate_number"


def test_the_kind_is_fixed_once_a_number_is_stored(signed_in, personas, employee, make_number):
    """Otherwise a handler scoped to payees could turn an employee into a payee, reveal, and
    turn them back (review finding)."""
    from mnvault.accounts.models import Membership

    signed_in(personas.handler).post(entry_url(personas, employee), entry(make_number()))
    Membership.objects.filter(user=personas.handler).update(person_kinds=["payee"])
    edit = reverse("web:person_edit", args=[personas.company.pk, employee.pk])
    response = signed_in(personas.handler).post(
        edit, {"kind": "payee", "family_name": "山田", "given_name": "太郎"}
    )
    assert 'id="id_kind_error"' in response.content.decode()
    employee.refresh_from_db()
    assert employee.kind == "employee"


def test_adding_and_editing_people_is_audited(signed_in, personas):
    client = signed_in(personas.staff)
    client.post(new_url(personas), {"kind": "payee", "family_name": "支払", "given_name": "先"})
    person = Person.objects.get(family_name="支払")
    edit = reverse("web:person_edit", args=[personas.company.pk, person.pk])
    client.post(edit, {"kind": "payee", "family_name": "支払", "given_name": "先生"})
    entries = AuditEntry.objects.filter(person_id=person.pk).order_by("seq")
    assert [(e.action, e.detail["fields"]) for e in entries][-1] == (
        "people.update",
        ["given_name"],
    )
    assert entries[0].action == "people.create"
