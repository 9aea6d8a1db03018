"""MNVAULT_OFFICE_NETWORKS (issue 10, item 19): the staff pages stay on the office network,
while employees register from their phones through the TLS reverse proxy. From outside, every
page but the registration pages, their static files and /healthz answers 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from mnvault.collection.models import Submission, SubmissionStatus
from mnvault.collection.tests.conftest import Walker, invite_by_email
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.settings import _office_networks

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

INSIDE, OUTSIDE = "192.168.10.20", "203.0.113.9"


@pytest.fixture
def office(settings):
    settings.MNVAULT_OFFICE_NETWORKS = ("192.168.10.0/24", "2001:db8:10::/48")


@pytest.fixture
def token(personas) -> str:
    invitee = make_person(personas.company, birth_date=date(1990, 4, 1), email="taro@example.test")
    return invite_by_email(personas.staff, invitee)[1]


def staff_pages(personas) -> list[str]:
    company = personas.company.pk
    return [
        "/",
        "/login",
        f"/c/{company}/",
        f"/c/{company}/people/",
        f"/c/{company}/collection/",
        "/account/password",
    ]


def test_a_staff_page_from_outside_answers_404(office, personas, signed_in):
    client = signed_in(personas.staff)
    for url in staff_pages(personas):
        response = client.get(url, REMOTE_ADDR=OUTSIDE)
        assert response.status_code == 404, url
        # The usual 404 page, read before the session: nobody is shown as signed in.
        assert personas.staff.username not in response.content.decode()


def test_signing_in_from_outside_is_not_even_tried(office, personas):
    response = Client(REMOTE_ADDR=OUTSIDE).post(
        "/login", {"username": personas.staff.username, "password": "anything"}
    )
    assert response.status_code == 404


def test_a_staff_page_from_inside_works(office, personas, signed_in):
    client = signed_in(personas.staff)
    for url in (f"/c/{personas.company.pk}/", f"/c/{personas.company.pk}/people/"):
        assert client.get(url, REMOTE_ADDR=INSIDE).status_code == 200, url
    assert Client(REMOTE_ADDR=INSIDE).get("/login").status_code == 200


def test_an_ipv6_office_address_is_inside_and_a_mapped_ipv4_one_too(office, personas):
    for address in ("2001:db8:10::5", "::ffff:192.168.10.20"):
        assert Client(REMOTE_ADDR=address).get("/login").status_code == 200, address
    assert Client(REMOTE_ADDR="2001:db8:11::5").get("/login").status_code == 404


def test_registration_from_outside_works(office, token, make_number):
    walker = Walker(token)
    walker.client = Client(REMOTE_ADDR=OUTSIDE)
    walker.register(make_number())
    assert walker.get("/register/done").status_code == 200
    assert all(r.status_code != 404 for r in walker.responses)
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED


def test_the_registration_pages_files_and_language_switch_work_from_outside(office):
    client = Client(REMOTE_ADDR=OUTSIDE)
    for url in ("/static/web/mnvault.css", "/static/web/number-check.js"):
        assert client.get(url).status_code == 200, url
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/register/"})
    assert switched.status_code == 302 and switched["Location"] == "/register/"
    assert client.get("/healthz").status_code != 404


def test_an_unreadable_address_is_outside(office):
    assert Client(REMOTE_ADDR="").get("/login").status_code == 404
    assert Client(REMOTE_ADDR="not-an-address").get("/login").status_code == 404


def test_without_the_setting_every_page_answers_from_anywhere(personas, signed_in):
    client = signed_in(personas.staff)
    assert client.get(f"/c/{personas.company.pk}/", REMOTE_ADDR=OUTSIDE).status_code == 200


def test_the_setting_reads_ranges_and_refuses_nonsense():
    assert _office_networks("") == ()
    assert _office_networks(" 192.168.10.7/24, 10.0.0.1 ,2001:db8::/32,") == (
        "192.168.10.0/24",
        "10.0.0.1/32",
        "2001:db8::/32",
    )
    with pytest.raises(ImproperlyConfigured, match="MNVAULT_OFFICE_NETWORKS"):
        _office_networks("192.168.10.0/24,the office")
