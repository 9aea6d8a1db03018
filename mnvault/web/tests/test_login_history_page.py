"""Those who review access see each member's sign-in history (domain R3), and nobody else's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.accounts.models import LoginEvent
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def history_url(personas, user):
    return reverse("web:login_history", args=[personas.company.pk, user.pk])


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager", "auditor"])
def test_reviewers_see_a_members_history(signed_in, personas, persona):
    LoginEvent.objects.create(
        user=personas.handler, username="handler", outcome="bad_code", client_address="192.0.2.7"
    )
    page = signed_in(getattr(personas, persona)).get(history_url(personas, personas.handler))
    assert page.status_code == 200 and "192.0.2.7" in page.content.decode()


@pytest.mark.parametrize("persona", ["handler", "staff", "installation_admin", "other_handler"])
def test_others_get_404(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    assert client.get(history_url(personas, personas.staff)).status_code == 404


def test_another_companys_user_cannot_be_looked_into(signed_in, personas):
    client = signed_in(personas.auditor)
    assert client.get(history_url(personas, personas.other_handler)).status_code == 404
