"""The company settings page: 法人番号, purposes notified, idle timeout, where data is kept and
the allowed networks — only for the company admin and the responsible manager, every change
through companies.services with its audit entry, bad input on its field with nothing changed;
and the networks enforced on every page of the company (domain R8)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mnvault.audit.models import AuditEntry
from mnvault.companies.models import AllowedNetwork
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.web.middleware import LAST_SEEN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
SEE = ["company_admin", "responsible_manager"]
NOT_SEE = ["handler", "auditor", "staff", "installation_admin", "no_role", "other_handler"]
EVERY_ROLE = ["company_admin", "responsible_manager", "handler", "auditor", "staff"]
INSIDE, OUTSIDE = "192.0.2.9", "198.51.100.7"


def url(company, name="settings", *args) -> str:
    return reverse(f"web:{name}", args=[company.pk, *args])


def form(**changes) -> dict:
    data = {
        "corporate_number": "",
        "purposes": ["withholding", "social_insurance"],
        "idle_minutes": "",
        "data_country": "JP",
    }
    return {**data, **changes}


def last_entry() -> AuditEntry:
    return AuditEntry.objects.latest("seq")


def snapshot(company) -> tuple:
    company.refresh_from_db()
    networks = sorted(AllowedNetwork.objects.filter(company=company).values_list("cidr", flat=True))
    return (
        company.corporate_number,
        sorted(company.notified_purposes()),
        company.idle_minutes,
        company.data_country,
        networks,
    )


def restrict(company, user, cidr: str = "192.0.2.0/24") -> None:
    AllowedNetwork.objects.create(company=company, cidr=cidr, created_by=user)


@pytest.mark.parametrize("persona", SEE)
def test_the_page_shows_the_settings(signed_in, personas, persona):
    restrict(personas.company, personas.company_admin, "127.0.0.0/8")
    response = signed_in(getattr(personas, persona)).get(url(personas.company))
    page = response.content.decode()
    assert response.status_code == 200
    assert "源泉徴収票作成事務" in page and 'value="JP"' in page and "127.0.0.0/8" in page
    assert 'value="withholding" id="id_purposes_0" checked' in page
    assert "<legend>" in page  # the purposes are a group with a legend
    assert 'aria-current="page"' in page and "/settings/" in page


@pytest.mark.parametrize("persona", NOT_SEE)
def test_everyone_else_gets_404_on_every_address(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    company = personas.company
    restrict(company, personas.company_admin, "127.0.0.0/8")
    network = AllowedNetwork.objects.get()
    before, entries = snapshot(company), AuditEntry.objects.count()
    assert client.get(url(company)).status_code == 404
    assert client.post(url(company), form(idle_minutes="5")).status_code == 404
    assert client.post(url(company, "network_add"), {"cidr": "10.0.0.0/8"}).status_code == 404
    assert client.post(url(company, "network_remove", network.pk)).status_code == 404
    assert snapshot(company) == before and AuditEntry.objects.count() == entries


@pytest.mark.parametrize("persona", SEE)
def test_saving_the_settings(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    data = form(
        corporate_number="７０００-０１２０-５０００-２",  # full-width and hyphens folded
        purposes=["withholding", "employment_insurance"],
        idle_minutes="10",
        data_country="sg",
    )
    response = client.post(url(personas.company), data, follow=True)
    assert response.redirect_chain == [(url(personas.company), 302)]
    assert "設定を保存しました" in response.content.decode()
    assert snapshot(personas.company) == (
        "7000012050002",
        ["employment_insurance", "withholding"],
        10,
        "SG",
        [],
    )
    entry = last_entry()
    assert (entry.action, entry.outcome, entry.actor_id) == (
        "companies.settings.update",
        "ok",
        getattr(personas, persona).pk,
    )
    assert entry.detail == {
        "fields": ["corporate_number", "idle_minutes", "data_country", "purposes"]
    }


def test_saving_unchanged_settings_says_so(signed_in, personas):
    entries = AuditEntry.objects.count()
    response = signed_in(personas.company_admin).post(url(personas.company), form(), follow=True)
    assert "変更はありませんでした" in response.content.decode()
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"corporate_number": "7000012050003"}, "corporate_number", "法人番号が正しくありません"),
        ({"corporate_number": "12345"}, "corporate_number", "法人番号が正しくありません"),
        ({"data_country": "XX"}, "data_country", "ISO 3166-1"),
        ({"data_country": ""}, "data_country", "必須"),
        ({"idle_minutes": "0"}, "idle_minutes", "1 以上"),
        ({"purposes": ["marketing"]}, "purposes", "marketing"),
    ],
)
def test_bad_settings_are_field_errors(signed_in, personas, changes, field, message):
    before, entries = snapshot(personas.company), AuditEntry.objects.count()
    data = form(**{"idle_minutes": "30", **changes})
    response = signed_in(personas.company_admin).post(url(personas.company), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in page and message in page
    assert snapshot(personas.company) == before and AuditEntry.objects.count() == entries


def test_a_corporate_number_of_another_company_is_a_field_error(signed_in, personas):
    other = personas.other_company
    other.corporate_number = "7000012050002"
    other.save()
    data = form(corporate_number="7000012050002")
    page = signed_in(personas.company_admin).post(url(personas.company), data).content.decode()
    assert 'id="id_corporate_number_error"' in page and "別の会社で登録済み" in page
    assert snapshot(personas.company)[0] == ""


def test_adding_and_removing_networks(signed_in, personas):
    client = signed_in(personas.responsible_manager)
    company = personas.company
    response = client.post(
        url(company, "network_add"), {"cidr": "127.0.0.1/8", "note": "事務室"}, follow=True
    )
    page = response.content.decode()
    assert "127.0.0.0/8" in page and "事務室" in page and "範囲を追加しました" in page
    network = AllowedNetwork.objects.get()
    assert (network.cidr, network.created_by) == ("127.0.0.0/8", personas.responsible_manager)
    assert last_entry().detail == {"fields": ["networks"], "added": "127.0.0.0/8"}
    assert client.post(url(company, "network_add"), {"cidr": "2001:db8::/32"}).status_code == 302
    v6 = AllowedNetwork.objects.get(cidr="2001:db8::/32")
    assert client.post(url(company, "network_remove", v6.pk)).status_code == 302
    assert snapshot(company)[4] == ["127.0.0.0/8"]
    assert last_entry().detail == {"fields": ["networks"], "removed": "2001:db8::/32"}


@pytest.mark.parametrize("bad", ["192.0.2.0/33", "300.1.2.3", "office", "2001:db8::zz/64", ""])
def test_a_bad_range_is_a_field_error(signed_in, personas, bad):
    entries = AuditEntry.objects.count()
    response = signed_in(personas.company_admin).post(
        url(personas.company, "network_add"), {"cidr": bad}
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'id="id_cidr_error"' in page
    assert "IP アドレス" in page
    assert not AllowedNetwork.objects.exists() and AuditEntry.objects.count() == entries


def test_a_range_that_would_shut_oneself_out_is_refused(signed_in, personas):
    client = signed_in(personas.company_admin)
    response = client.post(url(personas.company, "network_add"), {"cidr": "192.0.2.0/24"})
    page = response.content.decode()
    assert 'id="id_cidr_error"' in page and "127.0.0.1" in page
    assert not AllowedNetwork.objects.exists()
    restrict(personas.company, personas.company_admin, "127.0.0.0/8")
    restrict(personas.company, personas.company_admin, "192.0.2.0/24")
    mine = AllowedNetwork.objects.get(cidr="127.0.0.0/8")
    response = client.post(url(personas.company, "network_remove", mine.pk), follow=True)
    assert 'role="alert"' in response.content.decode()
    assert AllowedNetwork.objects.count() == 2


def test_another_companys_network_is_404(signed_in, personas):
    restrict(personas.other_company, personas.other_handler)
    theirs = AllowedNetwork.objects.get()
    client = signed_in(personas.company_admin)
    assert client.post(url(personas.company, "network_remove", theirs.pk)).status_code == 404
    assert AllowedNetwork.objects.count() == 1


# Enforcement -----------------------------------------------------------------------------------


def company_pages(personas, person) -> list[str]:
    company = personas.company
    return [
        url(company, "dashboard"),
        url(company, "people"),
        url(company, "person", person.pk),
        url(company, "users"),
        url(company),
    ]


@pytest.mark.parametrize("persona", EVERY_ROLE)
def test_outside_the_ranges_every_company_page_is_403(signed_in, personas, persona):
    person = make_person(personas.company)
    restrict(personas.company, personas.company_admin)
    client = signed_in(getattr(personas, persona))
    for page in company_pages(personas, person):
        response = client.get(page, REMOTE_ADDR=OUTSIDE)
        assert response.status_code == 403, page
        text = response.content.decode()
        assert "登録されたネットワーク" in text and "registered networks" not in text
        assert OUTSIDE in text and 'role="alert"' in text
        entry = last_entry()
        assert (entry.action, entry.outcome, entry.company_id, entry.client_address) == (
            "web.ip_refused",
            "refused",
            personas.company.pk,
            OUTSIDE,
        )
        assert entry.actor_id == getattr(personas, persona).pk
    reveal = url(personas.company, "person_reveal", person.pk)
    assert client.post(reveal, {"purpose": "withholding"}, REMOTE_ADDR=OUTSIDE).status_code == 403
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url(personas.company), REMOTE_ADDR=OUTSIDE).content.decode()
    assert "registered networks" in english and "登録されたネットワーク" not in english


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager"])
def test_inside_the_ranges_pages_open(signed_in, personas, persona):
    person = make_person(personas.company)
    restrict(personas.company, personas.company_admin)
    restrict(personas.company, personas.company_admin, "2001:db8::/32")
    client = signed_in(getattr(personas, persona))
    for address in (INSIDE, "2001:db8::42", f"::ffff:{INSIDE}"):
        for page in company_pages(personas, person):
            assert client.get(page, REMOTE_ADDR=address).status_code == 200, (page, address)
    assert not AuditEntry.objects.filter(action="web.ip_refused").exists()


def test_other_companies_and_other_pages_are_unaffected(signed_in, personas):
    restrict(personas.company, personas.company_admin)
    outsider = signed_in(personas.other_handler)
    theirs = url(personas.other_company, "dashboard")
    assert outsider.get(theirs, REMOTE_ADDR=OUTSIDE).status_code == 200
    # A non-member is told nothing about the company: the usual 404, not 403.
    assert outsider.get(url(personas.company, "dashboard"), REMOTE_ADDR=OUTSIDE).status_code == 404
    member = signed_in(personas.staff)
    assert member.get(reverse("web:home"), REMOTE_ADDR=OUTSIDE).status_code == 200
    anonymous = Client(REMOTE_ADDR=OUTSIDE)
    assert anonymous.get(url(personas.company, "dashboard")).status_code == 302  # to sign-in
    assert not AuditEntry.objects.filter(action="web.ip_refused").exists()


def test_without_ranges_any_address_opens_the_pages(signed_in, personas):
    client = signed_in(personas.staff)
    assert client.get(url(personas.company, "dashboard"), REMOTE_ADDR=OUTSIDE).status_code == 200


# Idle timeout ----------------------------------------------------------------------------------


def idle_for(client, seconds: float) -> None:
    session = client.session
    session[LAST_SEEN] = time.time() - seconds
    session.save()


def test_the_company_idle_timeout_applies_on_its_pages(signed_in, personas):
    company = personas.company
    company.idle_minutes = 2
    company.save()
    staff = signed_in(personas.staff)  # default for staff: 60 minutes
    idle_for(staff, 5 * 60)
    assert staff.get(reverse("web:home")).status_code == 200  # not a company page: default
    idle_for(staff, 5 * 60)
    response = staff.get(url(company, "dashboard"))
    assert response.status_code == 302 and "expired=1" in response["Location"]
    other = signed_in(personas.other_handler)
    idle_for(other, 5 * 60)  # the other company sets none: its default of 15 minutes holds
    assert other.get(url(personas.other_company, "dashboard")).status_code == 200


def test_a_company_timeout_never_lengthens_the_default(signed_in, personas):
    """A company admin (who cannot reveal) must not stretch the handlers' 15 minutes, and a
    page of another company must not stretch anyone's session (review findings)."""
    company = personas.company
    company.idle_minutes = 30
    company.save()
    handler = signed_in(personas.handler)  # default for handlers: 15 minutes
    idle_for(handler, 20 * 60)
    assert handler.get(url(company, "dashboard")).status_code == 302


def test_another_companys_timeout_does_not_apply(signed_in, personas):
    other = personas.other_company
    other.idle_minutes = 480
    other.save()
    handler = signed_in(personas.handler)
    idle_for(handler, 40 * 60)
    handler.get(url(other, "dashboard"))  # a company the handler has no role in
    assert handler.get(url(personas.company, "dashboard")).status_code == 302


def test_the_canary_crawl_reaches_both_pages(signed_in, personas):
    from mnvault.web.tests.test_canary_crawl import crawl

    for persona, pages in (
        ("company_admin", {url(personas.company, "users"), url(personas.company)}),
        ("auditor", {url(personas.company, "users")}),
    ):
        seen = crawl(signed_in(getattr(personas, persona)))
        assert pages <= set(seen), persona
        assert all(seen[page].status_code == 200 for page in pages)
