"""Throttling of sign-in by source: failures from an address the user is not known at slow
that source down (and spraying many names from one address is slowed), but never lock the
user out of an address they are known at; the lock-out itself comes only from such an
address. Counted in the login history, so it holds across app servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mnvault.accounts.models import LoginEvent
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_signin import enrolled, outcomes, sign_in, totp_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

OFFICE, OUTSIDE = "192.0.2.10", "203.0.113.9"


def at(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("web:home")


def page_says(response, english: str, japanese: str) -> bool:
    text = response.content.decode()
    return english in text or japanese in text


def known_at_the_office(user) -> None:
    office = at(OFFICE)
    assert signed_in(sign_in(office, user.username))
    office.post(reverse("web:logout"))


def test_ten_wrong_passwords_from_elsewhere_do_not_lock_a_handler_out_of_the_office(personas):
    office = at(OFFICE)
    device = enrolled(office, personas.handler)
    office.post(reverse("web:logout"))
    outsider = at(OUTSIDE)
    for _ in range(10):
        sign_in(outsider, "handler", "wrong password!")

    refused = sign_in(outsider, "handler")  # even the right password, from there
    assert not signed_in(refused)
    assert page_says(refused, "Too many failed sign-ins", "サインインの失敗が多すぎます")
    assert signed_in(sign_in(office, "handler"))
    right = office.post(reverse("web:code"), {"code": totp_now(device, steps_ahead=1)})
    assert right["Location"] == reverse("web:home")
    assert office.get(reverse("web:home")).status_code == 200
    personas.handler.refresh_from_db()
    assert personas.handler.locked_until is None and personas.handler.failed_logins == 0
    from_outside = LoginEvent.objects.filter(user=personas.handler, client_address=OUTSIDE)
    assert list(from_outside.order_by("pk").values_list("outcome", flat=True)) == (
        ["bad_password"] * 5 + ["throttled"] * 6
    )


def test_the_throttle_holds_a_source_back_after_the_lockout_figure(personas, settings):
    settings.MNVAULT_LOCKOUT_FAILURES = 3
    known_at_the_office(personas.staff)
    outsider = at(OUTSIDE)
    for _ in range(3):
        wrong = sign_in(outsider, "staff", "wrong password!")
        assert page_says(
            wrong, "Wrong user name or password", "ユーザー名またはパスワードが違います"
        )
    assert not signed_in(sign_in(outsider, "staff"))
    assert signed_in(sign_in(at(OFFICE), "staff"))
    entry = AuditEntry.objects.get(action="auth.throttled")
    assert (entry.outcome, entry.reason, entry.actor_id) == (
        "refused",
        "throttled",
        personas.staff.pk,
    )


def test_the_throttle_lifts_once_the_failures_leave_the_window(personas, settings):
    known_at_the_office(personas.staff)
    outsider = at(OUTSIDE)
    for _ in range(settings.MNVAULT_LOCKOUT_FAILURES):
        sign_in(outsider, "staff", "wrong password!")
    assert not signed_in(sign_in(outsider, "staff"))
    earlier = timezone.now() - timedelta(minutes=settings.MNVAULT_LOCKOUT_MINUTES + 1)
    LoginEvent.objects.update(at=earlier)
    assert signed_in(sign_in(outsider, "staff"))


def test_password_spraying_from_one_address_is_slowed_for_every_name(personas, settings):
    settings.MNVAULT_SIGNIN_ADDRESS_FAILURES = 6
    sprayer = at(OUTSIDE)  # an address shared with staff, who signed in there before
    assert signed_in(sign_in(sprayer, "staff"))
    sprayer.post(reverse("web:logout"))
    names = ["company_admin", "auditor", "nobody", "handler", "someone", "responsible_manager"]
    for name in names:  # one guess per name: no name reaches its own limit
        sign_in(sprayer, name, "Spring2026!")
    refused = sign_in(sprayer, "auditor")
    assert not signed_in(refused)
    assert page_says(refused, "Too many failed sign-ins", "サインインの失敗が多すぎます")
    assert signed_in(sign_in(at("198.51.100.7"), "auditor"))  # another source is not slowed
    assert signed_in(sign_in(sprayer, "staff"))  # nor a user at an address they are known at


def test_one_name_tried_from_many_addresses_is_held_back_from_all_unknown_ones(personas, settings):
    settings.MNVAULT_LOCKOUT_FAILURES = 2  # x3 from unknown sources together: 6
    known_at_the_office(personas.staff)
    for i in range(6):
        sign_in(at(f"203.0.113.{20 + i}"), "staff", "wrong password!")
    assert not signed_in(sign_in(at("203.0.113.99"), "staff"))
    assert signed_in(sign_in(at(OFFICE), "staff"))
    personas.staff.refresh_from_db()
    assert personas.staff.locked_until is None


def test_an_unknown_name_is_held_back_like_an_account_so_names_are_not_revealed(personas, settings):
    outsider = at(OUTSIDE)
    pages = {}
    for name in ("staff", "no-such-user"):
        for _ in range(settings.MNVAULT_LOCKOUT_FAILURES):
            sign_in(outsider, name, "wrong password!")
        pages[name] = sign_in(outsider, name, "wrong password!")
    for response in pages.values():
        assert page_says(response, "Too many failed sign-ins", "サインインの失敗が多すぎます")
    assert LoginEvent.objects.filter(username="no-such-user", outcome="throttled").exists()
    assert not AuditEntry.objects.filter(actor_label="no-such-user").exists()


def test_an_allowed_network_of_the_company_counts_as_known(personas, settings):
    from mnvault.companies.services import add_network

    add_network(
        acting_user=personas.company_admin,
        company=personas.company,
        cidr="192.0.2.0/24",
        client_address=OFFICE,
    )
    settings.MNVAULT_LOCKOUT_FAILURES = 3
    office = at("192.0.2.77")  # never signed in from here, but inside the company's network
    for _ in range(3):
        response = sign_in(office, "staff", "wrong password!")
    assert page_says(response, "locked", "ロック")
    personas.staff.refresh_from_db()
    assert personas.staff.locked_until is not None


def test_wrong_codes_from_an_unknown_address_throttle_it_without_locking(personas, settings):
    settings.MNVAULT_LOCKOUT_FAILURES = 3
    office = at(OFFICE)
    enrolled(office, personas.handler)
    office.post(reverse("web:logout"))
    hotel = at(OUTSIDE)
    assert signed_in(sign_in(hotel, "handler"))  # the password is known to whoever is there
    for _ in range(3):
        response = hotel.post(reverse("web:code"), {"code": "000000"})
    assert (
        response.status_code == 302
        and response["Location"] == f"{reverse('web:login')}?throttled=1"
    )
    assert hotel.get(reverse("web:home")).status_code == 302  # signed out
    personas.handler.refresh_from_db()
    assert personas.handler.locked_until is None
    assert outcomes(personas.handler)[-3:] == ["bad_code"] * 3
