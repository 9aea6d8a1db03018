"""The two-factor enrolment page says why this user needs a second factor: the installation
admin never reaches a number, but creates companies and appoints who may."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
PASSWORD = "correct horse battery 42"  # the personas' password (mnvault/conftest.py)
NUMBERS = "あなたの役割は個人番号を扱えるため"
APPOINTS = "会社を作成し、その個人番号を扱える人を任命するため"
DECIDES = "会社で誰が何をできるかを決めるため"


@pytest.mark.parametrize(
    ("persona", "reason"),
    [
        ("installation_admin", APPOINTS),
        ("handler", NUMBERS),
        ("responsible_manager", NUMBERS),
        ("company_admin", DECIDES),
    ],
)
def test_the_enrolment_page_says_why_this_user_needs_it(client, personas, persona, reason):
    client.post(reverse("web:login"), {"username": persona, "password": PASSWORD})
    page = client.get(reverse("web:enrol")).content.decode()
    assert reason in page
    for other in {NUMBERS, APPOINTS, DECIDES} - {reason}:
        assert other not in page
