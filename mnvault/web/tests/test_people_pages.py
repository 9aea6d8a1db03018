"""People pages: company isolation, search without numbers, masked numbers, purpose-bound
reveal for handlers only — every refusal with its message and audit entry."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ROLES = ["company_admin", "responsible_manager", "handler", "auditor", "staff"]


def pages(company, person) -> list[str]:
    return [
        reverse("web:dashboard", args=[company.pk]),
        reverse("web:people", args=[company.pk]),
        reverse("web:person", args=[company.pk, person.pk]),
    ]


def spaced(number: str) -> list[str]:
    return [number, f"{number[:4]} {number[4:8]} {number[8:]}"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_pages_but_never_the_number(signed_in, personas, employee, stored, role):
    client = signed_in(getattr(personas, role))
    for url in pages(personas.company, employee):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not any(n in response.content.decode() for n in spaced(stored)), url
    detail = client.get(reverse("web:person", args=[personas.company.pk, employee.pk]))
    assert "●●●● ●●●● ●●●●" in detail.content.decode()


@pytest.mark.parametrize("persona", ["other_handler", "no_role"])
def test_another_companys_users_get_404_everywhere(signed_in, personas, employee, stored, persona):
    client = signed_in(getattr(personas, persona))
    for url in pages(personas.company, employee):
        assert client.get(url).status_code == 404, url
    reveal = reverse("web:person_reveal", args=[personas.company.pk, employee.pk])
    assert client.post(reveal, {"purpose": "withholding"}).status_code == 404
    assert not AuditEntry.objects.filter(action="number.reveal").exists()


def test_a_person_of_another_company_is_404_even_under_ones_own(signed_in, personas):
    theirs = make_person(personas.other_company)
    client = signed_in(personas.handler)
    url = reverse("web:person", args=[personas.company.pk, theirs.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("persona", ["handler", "responsible_manager"])
def test_a_handler_reveals_for_a_notified_purpose(signed_in, personas, employee, stored, persona):
    client = signed_in(getattr(personas, persona))
    url = reverse("web:person_reveal", args=[personas.company.pk, employee.pk])
    response = client.post(url, {"purpose": "withholding"})
    page = response.content.decode()
    assert response.status_code == 200 and f"{stored[:4]} {stored[4:8]} {stored[8:]}" in page
    assert "no-store" in response["Cache-Control"]
    assert 'http-equiv="refresh" content="30;' in page
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.purpose) == ("number.reveal", "ok", "withholding")


@pytest.mark.parametrize("persona", ["company_admin", "auditor", "staff"])
def test_other_roles_have_no_reveal_button_and_are_refused(
    signed_in, personas, employee, stored, persona
):
    client = signed_in(getattr(personas, persona))
    detail = client.get(reverse("web:person", args=[personas.company.pk, employee.pk]))
    assert (
        "person_reveal" not in detail.content.decode() and "/reveal" not in detail.content.decode()
    )
    url = reverse("web:person_reveal", args=[personas.company.pk, employee.pk])
    response = client.post(url, {"purpose": "withholding"})
    assert response.status_code == 403 and stored not in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.reason) == ("number.reveal", "refused", "role")


def test_a_purpose_not_notified_to_the_person_is_refused(signed_in, personas, employee, stored):
    client = signed_in(personas.handler)
    url = reverse("web:person_reveal", args=[personas.company.pk, employee.pk])
    response = client.post(url, {"purpose": "social_insurance"})
    assert response.status_code == 403 and stored not in response.content.decode()
    assert AuditEntry.objects.latest("seq").reason == "purpose_not_notified_to_person"


def test_reveal_needs_post(signed_in, personas, employee, stored):
    client = signed_in(personas.handler)
    url = reverse("web:person_reveal", args=[personas.company.pk, employee.pk])
    assert client.get(url).status_code == 405


def test_search_by_name_kana_and_code(signed_in, personas):
    make_person(personas.company, family_name="佐藤", family_name_kana="サトウ", employee_code="E7")
    make_person(personas.company, family_name="鈴木", family_name_kana="スズキ")
    client = signed_in(personas.staff)
    url = reverse("web:people", args=[personas.company.pk])
    for query, expected in [("佐藤", "佐藤"), ("スズ", "鈴木"), ("E7", "佐藤")]:
        page = client.get(url, {"q": query}).content.decode()
        assert expected in page
    assert "鈴木" not in client.get(url, {"q": "佐藤"}).content.decode()


def test_searching_by_number_is_refused_and_not_echoed(signed_in, personas, employee, stored):
    client = signed_in(personas.handler)
    url = reverse("web:people", args=[personas.company.pk])
    for query in spaced(stored):
        response = client.get(url, {"q": query}, follow=True)
        assert response.redirect_chain == [(url, 302)]  # to an address without the number
        page = response.content.decode()
        assert 'role="alert"' in page
        assert not any(n in page for n in spaced(stored))


def test_filters_and_pagination(signed_in, personas, stored):
    for i in range(60):
        make_person(personas.company, kind="payee", given_name=f"支払先{i}")
    client = signed_in(personas.staff)
    url = reverse("web:people", args=[personas.company.pk])
    row = re.compile(rf'<td><a href="/c/{personas.company.pk}/people/\d+/">')
    first = client.get(url, {"kind": "payee"}).content.decode()
    assert len(row.findall(first)) == 50 and "1 / 2" in first
    assert len(row.findall(client.get(url, {"status": "stored"}).content.decode())) == 1


def test_the_dashboard_counts(signed_in, personas, employee, stored):
    make_person(personas.company, kind="payee")
    page = signed_in(personas.staff).get(reverse("web:dashboard", args=[personas.company.pk]))
    content = page.content.decode()
    assert '<span class="n">2</span>' in content and '<span class="n">1</span>' in content


@pytest.mark.parametrize(
    ("persona", "shown"),
    [("responsible_manager", True), ("auditor", True), ("handler", False), ("staff", False)],
)
def test_the_dashboard_alerts_on_refusals_to_those_who_audit(
    signed_in, personas, employee, stored, persona, shown
):
    from mnvault.vault.errors import Refused
    from mnvault.vault.services import reveal_number

    with pytest.raises(Refused):
        reveal_number(acting_user=personas.staff, person=employee, purpose="withholding")
    page = (
        signed_in(getattr(personas, persona))
        .get(reverse("web:dashboard", args=[personas.company.pk]))
        .content.decode()
    )
    assert ("過去7日間に拒否または失敗した操作が1件あります。" in page) is shown
