"""The installation admin creates a company with its first responsible manager."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.accounts.models import Membership, User
from mnvault.companies.models import Company
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
URL = reverse("web:company_new")
GOOD = {
    "name": "新規株式会社",
    "corporate_number": "7000-0120-5000-2",
    "purposes": ["withholding", "social_insurance"],
    "manager_username": "sekinin",
    "manager_full_name": "責任 一郎",
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
    assert manager.user.get_full_name() == "責任 一郎"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"corporate_number": "7000012050003"}, "corporate_number"),
        ({"manager_password": "password"}, "manager_password"),
        ({"manager_username": "staff"}, "manager_username"),
        ({"purposes": ["marketing"]}, "purposes"),
        ({"name": ""}, "name"),
        ({"manager_full_name": ""}, "manager_full_name"),
        ({"manager_username": ""}, "manager_username"),
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


def test_an_existing_user_becomes_the_manager_of_a_new_company(signed_in, personas):
    """An accountant's people serve many companies with one account each."""
    accountant = personas.other_handler
    users = User.objects.count()
    data = {**GOOD, "manager": accountant.pk, "manager_username": "", "manager_password": ""}
    response = signed_in(personas.installation_admin).post(URL, data)
    assert response.status_code == 302 and User.objects.count() == users
    company = Company.objects.get(name="新規株式会社")
    membership = Membership.objects.get(company=company)
    assert (membership.user, membership.role) == (accountant, "responsible_manager")


def test_an_existing_user_and_a_new_account_together_are_refused(signed_in, personas):
    data = {**GOOD, "manager": personas.other_handler.pk}
    response = signed_in(personas.installation_admin).post(URL, data)
    assert 'id="id_manager_username_error"' in response.content.decode()
    assert not Company.objects.filter(name="新規株式会社").exists()


def test_the_installation_admin_is_not_offered_as_manager(signed_in, personas):
    client = signed_in(personas.installation_admin)
    page = client.get(URL).content.decode()
    assert f'<option value="{personas.other_handler.pk}"' in page
    assert f'<option value="{personas.installation_admin.pk}"' not in page
    response = client.post(URL, {**GOOD, "company_admin": personas.installation_admin.pk})
    assert 'id="id_company_admin_error"' in response.content.decode()
    assert not Company.objects.filter(name="新規株式会社").exists()


def test_the_company_admin_is_appointed_at_creation_and_appoints_hr_staff(signed_in, personas):
    """No dead end: the company admin named here appoints HR staff and managers later."""
    admin = personas.no_role
    response = signed_in(personas.installation_admin).post(URL, {**GOOD, "company_admin": admin.pk})
    assert response.status_code == 302
    company = Company.objects.get(name="新規株式会社")
    held = Membership.objects.filter(company=company).values_list("user__username", "role")
    assert set(held) == {("sekinin", "responsible_manager"), ("no_role", "company_admin")}
    client = signed_in(admin)
    users_page = reverse("web:users", args=[company.pk])
    assert client.get(users_page).status_code == 200
    data = {"grant-username": "sekinin", "grant-role": "staff"}
    assert client.post(reverse("web:user_grant", args=[company.pk]), data).status_code == 302
    assert held.filter(user__username="sekinin", role="staff").exists()


def test_the_new_manager_may_also_be_the_company_admin(signed_in, personas):
    data = {**GOOD, "manager_is_company_admin": "on"}
    assert signed_in(personas.installation_admin).post(URL, data).status_code == 302
    company = Company.objects.get(name="新規株式会社")
    roles = set(Membership.objects.filter(company=company).values_list("role", flat=True))
    assert roles == {"responsible_manager", "company_admin"}


def test_the_admins_home_page_lists_the_companies_they_created(signed_in, personas):
    client = signed_in(personas.installation_admin)
    assert "新規株式会社" not in client.get(reverse("web:home")).content.decode()
    client.post(URL, GOOD)
    page = client.get(reverse("web:home")).content.decode()
    assert 'id="companies-created"' in page and "新規株式会社" in page
    assert "株式会社テスト" not in page.split('id="companies-created"')[1].split("</table>")[0]
