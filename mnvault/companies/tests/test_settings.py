"""Company settings: only the company admin and the responsible manager change them, in one
transaction with one audit entry naming the changed fields; bad values change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from mnvault.accounts.signin import idle_timeout
from mnvault.audit.models import AuditEntry
from mnvault.companies.countries import ALPHA2
from mnvault.companies.models import AllowedNetwork, Company
from mnvault.companies.networks import address_allowed, normalise_network
from mnvault.companies.services import (
    CompanyRefused,
    add_network,
    remove_network,
    update_settings,
)
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ALLOWED = ["company_admin", "responsible_manager"]
REFUSED = ["handler", "auditor", "staff", "installation_admin", "no_role", "other_handler"]


def current(company: Company) -> dict:
    company.refresh_from_db()
    return {
        "corporate_number": company.corporate_number,
        "purposes": company.notified_purposes(),
        "idle_minutes": company.idle_minutes,
        "data_country": company.data_country,
        "networks": set(AllowedNetwork.objects.filter(company=company).values_list("cidr")),
    }


def settings_of(**changes) -> dict:
    values = {
        "corporate_number": "",
        "purposes": ["withholding", "social_insurance"],
        "idle_minutes": None,
        "data_country": "JP",
    }
    return {**values, **changes}


def last_entry() -> AuditEntry:
    return AuditEntry.objects.latest("seq")


@pytest.mark.parametrize("persona", ALLOWED)
def test_settings_change_in_one_audited_step(personas, persona):
    company, acting = personas.company, getattr(personas, persona)
    changed = update_settings(
        acting_user=acting,
        company=company,
        **settings_of(
            corporate_number="7000-0120-5000-2",
            purposes=["withholding", "employment_insurance"],
            idle_minutes=10,
            data_country="jp",
        ),
    )
    assert changed == ["corporate_number", "idle_minutes", "purposes"]
    now = current(company)
    assert now["corporate_number"] == "7000012050002" and now["idle_minutes"] == 10
    assert now["purposes"] == {"withholding", "employment_insurance"}
    assert company.corporate_number == "7000012050002"  # the caller's object follows
    entry = last_entry()
    assert (entry.action, entry.outcome, entry.actor_id, entry.company_id) == (
        "companies.settings.update",
        "ok",
        acting.pk,
        company.pk,
    )
    # Field names only, never the values.
    assert entry.detail == {"fields": ["corporate_number", "idle_minutes", "purposes"]}
    assert "7000012050002" not in str(entry.detail)


def test_nothing_changed_writes_nothing(personas):
    entries = AuditEntry.objects.count()
    assert (
        update_settings(
            acting_user=personas.company_admin, company=personas.company, **settings_of()
        )
        == []
    )
    assert AuditEntry.objects.count() == entries


def test_a_kept_purpose_keeps_its_date(personas):
    company = personas.company
    before = company.purposes.get(purpose="withholding")
    update_settings(
        acting_user=personas.company_admin, company=company, **settings_of(purposes=["withholding"])
    )
    assert company.purposes.get(purpose="withholding").pk == before.pk
    assert company.notified_purposes() == {"withholding"}


@pytest.mark.parametrize("persona", REFUSED)
def test_other_roles_are_refused_and_audited(personas, persona):
    company = personas.company
    before = current(company)
    acting = getattr(personas, persona)
    with pytest.raises(CompanyRefused):
        update_settings(acting_user=acting, company=company, **settings_of(idle_minutes=5))
    with pytest.raises(CompanyRefused):
        add_network(acting_user=acting, company=company, cidr="192.0.2.0/24")
    assert current(company) == before
    entry = last_entry()
    assert (entry.action, entry.outcome, entry.reason, entry.actor_id) == (
        "companies.settings.update",
        "refused",
        "role",
        acting.pk,
    )


def test_a_role_in_another_company_is_refused(personas):
    with pytest.raises(CompanyRefused):
        update_settings(
            acting_user=personas.company_admin,
            company=personas.other_company,
            **settings_of(idle_minutes=5),
        )
    assert current(personas.other_company)["idle_minutes"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"corporate_number": "7000012050003"}, "corporate_number"),
        ({"corporate_number": "123"}, "corporate_number"),
        ({"data_country": "XX"}, "data_country"),
        ({"data_country": "JPN"}, "data_country"),
        ({"idle_minutes": 0}, "idle_minutes"),
        ({"idle_minutes": 10_000}, "idle_minutes"),
        ({"purposes": ["marketing"]}, "purposes"),
    ],
)
def test_bad_values_change_nothing(personas, changes, field):
    company = personas.company
    before, entries = current(company), AuditEntry.objects.count()
    with pytest.raises(ValidationError) as invalid:
        update_settings(
            acting_user=personas.company_admin,
            company=company,
            **settings_of(**{"idle_minutes": 30, **changes}),
        )
    assert field in invalid.value.message_dict
    assert current(company) == before and AuditEntry.objects.count() == entries


def test_a_corporate_number_belongs_to_one_company(personas):
    other = personas.other_company
    other.corporate_number = "7000012050002"
    other.save()
    with pytest.raises(ValidationError) as invalid:
        update_settings(
            acting_user=personas.company_admin,
            company=personas.company,
            **settings_of(corporate_number="7000012050002"),
        )
    assert "corporate_number" in invalid.value.message_dict


def test_networks_are_added_normalised_and_removed_with_audit(personas):
    company, acting = personas.company, personas.company_admin
    v4 = add_network(
        acting_user=acting,
        company=company,
        cidr=" 192.0.2.77/24 ",
        note="本社",
        client_address="192.0.2.5",
    )
    v6 = add_network(acting_user=acting, company=company, cidr="2001:DB8::1/32")
    assert (v4.cidr, v4.note, v4.created_by) == ("192.0.2.0/24", "本社", acting)
    assert v6.cidr == "2001:db8::/32"
    entry = last_entry()
    assert (entry.action, entry.detail) == (
        "companies.settings.update",
        {"fields": ["networks"], "added": "2001:db8::/32"},
    )
    remove_network(acting_user=acting, network=v6, client_address="192.0.2.5")
    assert current(company)["networks"] == {("192.0.2.0/24",)}
    assert last_entry().detail == {"fields": ["networks"], "removed": "2001:db8::/32"}


@pytest.mark.parametrize("bad", ["", "192.0.2.0/33", "300.1.1.1", "example.com", "2001:db8::g/64"])
def test_a_bad_range_is_refused(personas, bad):
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as invalid:
        add_network(acting_user=personas.company_admin, company=personas.company, cidr=bad)
    assert "cidr" in invalid.value.message_dict
    assert not AllowedNetwork.objects.exists() and AuditEntry.objects.count() == entries


def test_a_range_is_added_once(personas):
    add_network(acting_user=personas.company_admin, company=personas.company, cidr="10.0.0.0/8")
    with pytest.raises(ValidationError):
        add_network(acting_user=personas.company_admin, company=personas.company, cidr="10.1.2.3/8")
    assert AllowedNetwork.objects.count() == 1


def test_nobody_shuts_themselves_out(personas):
    company, acting = personas.company, personas.company_admin
    with pytest.raises(ValidationError) as invalid:
        add_network(
            acting_user=acting, company=company, cidr="192.0.2.0/24", client_address="198.51.100.1"
        )
    assert "198.51.100.1" in invalid.value.message_dict["cidr"][0]
    assert not AllowedNetwork.objects.exists()
    office = add_network(
        acting_user=acting, company=company, cidr="192.0.2.0/24", client_address="192.0.2.1"
    )
    add_network(
        acting_user=acting, company=company, cidr="198.51.100.0/24", client_address="192.0.2.1"
    )
    with pytest.raises(ValidationError):
        remove_network(acting_user=acting, network=office, client_address="192.0.2.1")
    assert AllowedNetwork.objects.count() == 2


def test_address_matching():
    assert address_allowed("192.0.2.9", ["192.0.2.0/24"])
    assert not address_allowed("192.0.3.9", ["192.0.2.0/24"])
    assert address_allowed("2001:db8::5", ["10.0.0.0/8", "2001:db8::/32"])
    assert address_allowed("::ffff:192.0.2.9", ["192.0.2.0/24"])  # IPv4 on a dual-stack socket
    assert not address_allowed("", ["0.0.0.0/0"])  # unreadable: fail closed
    assert not address_allowed("not an address", ["0.0.0.0/0"])
    assert normalise_network("192.0.2.7") == "192.0.2.7/32"


def test_the_country_list():
    assert len(ALPHA2) == 249 and {"JP", "US", "SG", "IE"} <= ALPHA2 and "XX" not in ALPHA2


def test_the_company_idle_timeout_overrides_the_default(personas, settings):
    company = personas.company
    staff, handler = personas.staff, personas.handler
    assert idle_timeout(staff, company) == timedelta(minutes=settings.MNVAULT_IDLE_MINUTES)
    company.idle_minutes = 5
    assert idle_timeout(staff, company) == idle_timeout(handler, company) == timedelta(minutes=5)
    assert idle_timeout(staff) == timedelta(minutes=settings.MNVAULT_IDLE_MINUTES)
