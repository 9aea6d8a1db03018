"""Re-authentication ("sudo mode"): a reveal or a role change from a session whose password
or code is older than MNVAULT_REAUTH_MINUTES goes to the confirmation page first, then back
to the page it came from; the vault itself refuses, and audits, a reveal from a stale
session that reaches it."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from mnvault.accounts.models import LoginEvent, Membership, SealedTOTPDevice
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES
from mnvault.vault.errors import Refused
from mnvault.vault.services import reveal_number
from mnvault.web.reauth import AUTHENTICATED_AT
from mnvault.web.tests.test_signin import PASSWORD, enrolled, totp_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def stale(client, settings) -> None:
    session = client.session
    session[AUTHENTICATED_AT] = time.time() - settings.MNVAULT_REAUTH_MINUTES * 60 - 1
    session.save()


def person_url(personas, person) -> str:
    return reverse("web:person", args=[personas.company.pk, person.pk])


def reveal(client, personas, person):
    url = reverse("web:person_reveal", args=[personas.company.pk, person.pk])
    return client.post(url, {"purpose": "withholding"})


def confirm_url(next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse('web:reauth')}?{urlencode({'next': next_url})}"


def test_a_stale_sign_in_cannot_reveal_until_confirmed(
    personas, employee, stored, signed_in, settings
):
    client = signed_in(personas.handler)
    stale(client, settings)
    entries = AuditEntry.objects.count()

    held = reveal(client, personas, employee)
    assert held.status_code == 302
    assert held["Location"] == confirm_url(person_url(personas, employee))
    assert AuditEntry.objects.count() == entries  # stopped before the vault
    page = client.get(held["Location"]).content.decode()
    assert "Nothing was done yet" in page or "まだ何も行われていません" in page

    back = client.post(held["Location"], {"password": PASSWORD})
    assert back.status_code == 302 and back["Location"] == person_url(personas, employee)
    told = client.get(back["Location"]).content.decode()
    assert "Confirmed" in told or "確認しました" in told
    shown = reveal(client, personas, employee)
    assert shown.status_code == 200 and stored[-4:] in shown.content.decode().replace(" ", "")
    assert LoginEvent.objects.filter(user=personas.handler, outcome="reauthenticated").exists()


def test_a_code_from_the_authenticator_app_also_confirms(
    personas, employee, stored, signed_in, settings
):
    client = signed_in(personas.handler)
    stale(client, settings)
    device = SealedTOTPDevice.objects.get(user=personas.handler, confirmed=True)
    url = confirm_url(person_url(personas, employee))
    assert 'name="code"' in client.get(url).content.decode()
    assert client.post(url, {"code": totp_now(device)})["Location"] == person_url(
        personas, employee
    )
    assert reveal(client, personas, employee).status_code == 200


def test_a_fresh_sign_in_reveals_without_confirming(personas, employee, stored, client):
    enrolled(client, personas.handler)  # password, then a phone: just now
    assert reveal(client, personas, employee).status_code == 200


def test_a_wrong_password_does_not_confirm_and_is_counted(
    personas, employee, stored, signed_in, settings
):
    settings.MNVAULT_LOCKOUT_FAILURES = 2
    client = signed_in(personas.handler)
    stale(client, settings)
    url = confirm_url(person_url(personas, employee))
    wrong = client.post(url, {"password": "not my password"})
    assert wrong.status_code == 200
    assert (
        "Wrong password or code" in wrong.content.decode() or "違います" in wrong.content.decode()
    )
    assert reveal(client, personas, employee).status_code == 302  # still stale
    again = client.post(url, {"password": "not my password"})
    assert again["Location"] == f"{reverse('web:login')}?throttled=1"  # and signed out
    assert (
        list(
            LoginEvent.objects.filter(user=personas.handler).values_list("outcome", flat=True)
        ).count("bad_password")
        == 2
    )


def test_an_empty_confirmation_is_a_form_error(personas, signed_in):
    response = signed_in(personas.handler).post(reverse("web:reauth"), {})
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()


def test_confirmation_goes_back_only_to_a_page_of_this_site(personas, signed_in, settings):
    client = signed_in(personas.staff)
    for elsewhere in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(confirm_url(elsewhere), {"password": PASSWORD})
        assert response["Location"] == reverse("web:home")


@pytest.mark.parametrize("route", ["user_grant", "user_revoke"])
def test_a_stale_session_cannot_change_roles_until_confirmed(personas, signed_in, settings, route):
    client = signed_in(personas.responsible_manager)
    stale(client, settings)
    company = personas.company.pk
    if route == "user_grant":
        url = reverse("web:user_grant", args=[company])
        body = {"grant-username": "no_role", "grant-role": "handler"}
    else:
        membership = Membership.objects.get(user=personas.handler, company=personas.company)
        url = reverse("web:user_revoke", args=[company, membership.pk])
        body = {}
    roles = list(Membership.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True))

    held = client.post(url, body)
    users = reverse("web:users", args=[company])
    assert held["Location"] == confirm_url(users)
    assert (
        list(Membership.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        == roles
    )
    client.post(held["Location"], {"password": PASSWORD})
    assert client.post(url, body)["Location"] == users
    assert (
        list(Membership.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        != roles
    )


def test_the_vault_refuses_and_audits_a_reveal_from_a_stale_sign_in(
    personas, employee, stored, settings
):
    long_ago = timezone.now() - timedelta(minutes=settings.MNVAULT_REAUTH_MINUTES + 1)
    actor = Actor.of(personas.handler, authenticated_at=long_ago)
    with pytest.raises(Refused) as refused:
        reveal_number(acting_user=actor, person=employee, purpose="withholding")
    assert refused.value.code == "reauthenticate"
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.reason) == (
        "number.reveal",
        "refused",
        "reauthenticate",
    )
    just_now = Actor.of(personas.handler, authenticated_at=timezone.now())
    assert reveal_number(acting_user=just_now, person=employee, purpose="withholding") == stored


def test_a_stale_reveal_that_reaches_the_vault_is_audited_and_sent_to_confirm(
    personas, employee, stored, signed_in, settings
):
    """Should the page's own check be passed (it went stale in between, or a page forgot
    it), the vault refuses with the session's time, and the page still asks to confirm."""
    client = signed_in(personas.handler)
    stale(client, settings)
    with mock.patch("mnvault.web.reauth.is_recent", return_value=True):
        response = reveal(client, personas, employee)
    assert response["Location"] == confirm_url(person_url(personas, employee))
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.reason) == (
        "number.reveal",
        "refused",
        "reauthenticate",
    )
