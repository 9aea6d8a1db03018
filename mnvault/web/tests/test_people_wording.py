"""What the people pages say: each kind of person shows its own facts (a dependent its
employee and relationship, a payee its contract dates), a payee's number is entered with payee
purposes only, labels are translated and beside their boxes, in Japanese and in English."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from mnvault.conftest import ALL_DATABASES, make_person

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
CSS = Path(__file__).resolve().parents[1] / "static" / "web" / "mnvault.css"


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def person_url(personas, person) -> str:
    return reverse("web:person", args=[personas.company.pk, person.pk])


@pytest.fixture
def payee(personas):
    personas.company.purposes.create(purpose="fee_payment_records")
    return make_person(
        personas.company,
        kind="payee",
        family_name="佐藤",
        given_name="花子",
        contract_start=date(2026, 4, 1),
        contract_end=date(2027, 3, 31),
    )


def test_a_dependents_page_links_its_employee_and_shows_the_relationship(
    signed_in, personas, employee
):
    child = make_person(
        personas.company,
        kind="dependent",
        given_name="一郎",
        employee=employee,
        relationship="child",
    )
    client = signed_in(personas.staff)
    page = client.get(person_url(personas, child)).content.decode()
    link = f'<a href="{person_url(personas, employee)}">山田 太郎</a>'
    assert "<dt>従業員</dt>" in page and link in page
    assert "<dt>続柄</dt>" in page and "子" in page
    english_page = english(client).get(person_url(personas, child)).content.decode()
    assert "<dt>Employee</dt>" in english_page and link in english_page
    assert "<dt>Relationship</dt>" in english_page and "Child" in english_page


def test_a_payees_page_shows_the_contract_dates(signed_in, personas, payee):
    client = signed_in(personas.staff)
    page = client.get(person_url(personas, payee)).content.decode()
    assert "<dt>契約開始日</dt>" in page and "2026-04-01" in page
    assert "<dt>契約終了日</dt>" in page and "2027-03-31" in page
    english_page = english(client).get(person_url(personas, payee)).content.decode()
    assert "<dt>Contract start</dt>" in english_page and "<dt>Contract end</dt>" in english_page


def test_an_employees_page_shows_no_dependent_or_payee_facts(signed_in, personas, employee):
    page = signed_in(personas.staff).get(person_url(personas, employee)).content.decode()
    assert "<dt>続柄</dt>" not in page and "<dt>契約開始日</dt>" not in page


def test_a_payees_number_is_entered_with_payee_purposes_and_no_employee_exemption(
    signed_in, personas, payee
):
    url = reverse("web:number_entry", args=[personas.company.pk, payee.pk])
    client = signed_in(personas.handler)
    page = client.get(url).content.decode()
    assert 'value="fee_payment_records"' in page
    assert 'value="withholding"' not in page and 'value="social_insurance"' not in page
    assert "identity_exemption" not in page and "従業員のみ" not in page
    english_page = english(client).get(url).content.decode()
    assert "employees only" not in english_page


def test_a_payees_number_cannot_be_entered_for_an_employee_purpose(
    signed_in, personas, payee, make_number
):
    url = reverse("web:number_entry", args=[personas.company.pk, payee.pk])
    data = {
        "number": make_number(),
        "document_kinds": ["my_number_card"],
        "verified_on": "2026-11-20",
        "purposes": ["withholding"],
    }
    response = signed_in(personas.handler).post(url, data)
    assert response.status_code == 200 and 'id="id_purposes_error"' in response.content.decode()
    data["purposes"] = ["fee_payment_records"]
    assert signed_in(personas.handler).post(url, data).status_code == 302


def test_a_payee_known_in_person_still_needs_an_identity_document(
    signed_in, personas, payee, make_number
):
    url = reverse("web:number_entry", args=[personas.company.pk, payee.pk])
    data = {
        "number": make_number(),
        "document_kinds": ["notification_card"],
        "verified_on": "2026-11-20",
        "purposes": ["fee_payment_records"],
        "identity_exemption": "on",
    }
    response = signed_in(personas.handler).post(url, data)
    assert 'id="id_document_kinds_error"' in response.content.decode()


def test_an_employees_number_entry_keeps_the_exemption_and_employee_purposes(
    signed_in, personas, employee
):
    url = reverse("web:number_entry", args=[personas.company.pk, employee.pk])
    page = signed_in(personas.handler).get(url).content.decode()
    assert 'value="withholding"' in page and "従業員のみ" in page
    assert page.index('id="id_identity_exemption"') < page.index(
        '<label for="id_identity_exemption">'
    )


def test_the_relationship_label_of_the_person_form_is_translated(signed_in, personas):
    url = reverse("web:person_new", args=[personas.company.pk])
    client = signed_in(personas.staff)
    assert '<label for="id_relationship">続柄</label>' in client.get(url).content.decode()
    english_page = english(client).get(url).content.decode()
    assert '<label for="id_relationship">Relationship</label>' in english_page


def test_e_mail_inputs_are_styled_like_text_inputs():
    rule = next(line for line in CSS.read_text().splitlines() if "input[type=text]," in line)
    assert "input[type=email]" in rule


def test_people_are_called_taishosha(signed_in, personas):
    client = signed_in(personas.staff)
    people = client.get(reverse("web:people", args=[personas.company.pk])).content.decode()
    assert "<h1>対象者</h1>" in people and "対象者を追加" in people
    assert ">対象者</a>" in people  # the menu
    assert ">人</a>" not in people and "人を追加" not in people
    english_page = english(client).get(reverse("web:people", args=[personas.company.pk]))
    text = english_page.content.decode()
    assert "<h1>People</h1>" in text and "Add a person" in text


def test_the_password_form_asks_for_the_current_password(signed_in, personas):
    client = signed_in(personas.staff)
    page = client.get(reverse("web:password_change")).content.decode()
    assert '<label for="id_old_password">現在のパスワード</label>' in page
    assert "元のパスワード" not in page
    english_page = english(client).get(reverse("web:password_change")).content.decode()
    assert '<label for="id_old_password">Current password</label>' in english_page
