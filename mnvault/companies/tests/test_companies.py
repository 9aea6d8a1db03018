"""Creating companies: only the installation admin; 法人番号 checked (domain R40)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.companies.models import Company
from mnvault.companies.services import CompanyRefused, create_company
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_installation_admin_creates_a_company_with_purposes(personas):
    company = create_company(
        acting_user=personas.installation_admin,
        name="新会社",
        corporate_number="7000-0120-5000-2",
        purposes=["withholding"],
    )
    assert company.corporate_number == "7000012050002"
    assert company.notified_purposes() == {"withholding"}
    assert AuditEntry.objects.latest("seq").action == "companies.create"


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager", "handler", "no_role"])
def test_other_users_cannot_create_companies(personas, persona):
    count = Company.objects.count()
    with pytest.raises(CompanyRefused):
        create_company(acting_user=getattr(personas, persona), name="x")
    assert Company.objects.count() == count
    assert AuditEntry.objects.latest("seq").outcome == "refused"


@pytest.mark.parametrize("bad", ["7000012050003", "123", "abcdefghijklm"])
def test_a_bad_corporate_number_is_refused(bad):
    with pytest.raises(ValidationError) as refused:
        create_company(acting_user=Actor.system("test"), name="x", corporate_number=bad)
    assert "法人番号が正しくありません" in str(refused.value)
    assert not Company.objects.exists()


def test_an_unknown_purpose_is_refused():
    with pytest.raises(ValueError):
        create_company(acting_user=Actor.system("test"), name="x", purposes=["marketing"])
    assert not Company.objects.exists()


def test_an_api_client_cannot_create_companies(personas):
    from mnvault.accounts.services import create_api_client

    client, _token = create_api_client(
        acting_user=personas.responsible_manager, company=personas.company, name="給与ソフト"
    )
    with pytest.raises(CompanyRefused):
        create_company(acting_user=Actor.of_api_client(client), name="x")
    assert not Company.objects.filter(name="x").exists()
