"""The installation admin creates a company with its first responsible manager."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.accounts.models import Membership
from mnvault.companies.models import Company
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
URL = reverse("web:company_new")
GOOD = {
    "name": "新規株式会社",
    "corporate_number": "7000-0120-5000-2",
    "purposes": ["withholding", "social_insurance"],
    "manager_username": "sekinin",
    "manager_password": "tulip cobalt harbour 91",
}


def test_it_creates_the_company_and_its_manager(signed_in, personas):
    response = signed_in(personas.installation_admin).post(URL, GOOD)
    assert response.status_code == 302
    company = Company.objects.get(name="新規株式会社")
    assert company.corporate_number == "7000012050002"
    assert company.notified_purposes() == {"withholding", "social_insurance"}
    manager = Membership.objects.get(company=company)
    assert (manager.user.username, manager.role, manager.granted_by) == (
        "sekinin",
        "responsible_manager",
        personas.installation_admin,
    )
    assert not Membership.objects.filter(user=personas.installation_admin).exists()
    assert manager.user.must_change_password  # the admin chose it


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"corporate_number": "7000012050003"}, "corporate_number"),
        ({"manager_password": "password"}, "manager_password"),
        ({"manager_username": "staff"}, "manager_username"),
        ({"purposes": ["marketing"]}, "purposes"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_creates_nothing(signed_in, personas, change, field):
    count = Company.objects.count()
    response = signed_in(personas.installation_admin).post(URL, {**GOOD, **change})
    assert f'id="id_{field}_error"' in response.content.decode()
    assert (
        Company.objects.count() == count
        and not Membership.objects.filter(user__username="sekinin").exists()
    )


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager", "handler", "staff"])
def test_others_cannot_create_companies(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    assert client.get(URL).status_code == 404
    assert client.post(URL, GOOD).status_code == 404
    assert not Company.objects.filter(name="新規株式会社").exists()
