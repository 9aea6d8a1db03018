"""The person page's reveal under the vault's hourly limits: past the limit the page says why
(403) and the refusal is in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def reveal_url(personas, person) -> str:
    return reverse("web:person_reveal", args=[personas.company.pk, person.pk])


def test_the_reveal_past_the_hourly_limit_says_why_and_is_audited(
    personas, employee, stored, signed_in, settings
):
    settings.MNVAULT_REVEALS_PER_HOUR = 2
    client = signed_in(personas.handler)
    for _ in range(2):
        assert (
            client.post(reveal_url(personas, employee), {"purpose": "withholding"}).status_code
            == 200
        )
    refused = client.post(reveal_url(personas, employee), {"purpose": "withholding"})
    page = refused.content.decode()
    assert refused.status_code == 403 and stored not in page
    assert "as many numbers as allowed in one hour" in page or "1時間" in page
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.reason) == (
        "number.reveal",
        "refused",
        "reveal_rate",
    )
