"""``mnvault networks clear``: the way back in after an office's address changed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mnvault.audit.models import AuditEntry
from mnvault.companies.models import AllowedNetwork
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_it_removes_every_network_of_that_company_only_and_audits(personas, capsys):
    for company in (personas.company, personas.other_company):
        AllowedNetwork.objects.create(
            company=company, cidr="192.0.2.0/24", created_by=personas.company_admin
        )
    call_command("networks", "clear", "--company", str(personas.company.pk))
    assert "1 allowed networks removed" in capsys.readouterr().out
    assert not AllowedNetwork.objects.filter(company=personas.company).exists()
    assert AllowedNetwork.objects.filter(company=personas.other_company).exists()
    entry = AuditEntry.objects.latest("seq")
    assert (entry.company_id, entry.detail["cleared"]) == (personas.company.pk, 1)


def test_an_unknown_company_is_a_clear_error(personas):
    with pytest.raises(CommandError, match="会社「no such company」が見つからないか"):
        call_command("networks", "clear", "--company", "no such company")
