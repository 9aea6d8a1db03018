"""The provision ledger's export: recorded before the rows are read, refused (and recorded)
for a role that does not see the runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES
from mnvault.usage import ledger, runs
from mnvault.usage.models import DocumentRun, RunStatus
from mnvault.usage.tests.factory import csv_bytes, staff, unified_row
from mnvault.vault.errors import Refused

YEAR = 2025
pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def prepared(personas, make_number) -> DocumentRun:
    scene = staff(personas.company, personas.handler, make_number, 2)
    return runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes([unified_row(YEAR, s) for s in scene]),
    )


def test_the_export_is_recorded_with_the_runs_it_holds(personas, make_number):
    run = prepared(personas, make_number)
    exported = list(ledger.export_ledger(acting_user=personas.staff, company=personas.company))
    assert [r.pk for r in exported] == [run.pk]
    assert getattr(exported[0], "provided_count") == 0  # annotated: none produced yet
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_LEDGER_EXPORT)
    assert entry.outcome == Outcome.OK and entry.detail == {"runs": 1, "last_run": run.pk}


def test_a_role_that_does_not_see_the_runs_cannot_export(personas, make_number):
    prepared(personas, make_number)
    with pytest.raises(Refused):
        ledger.export_ledger(acting_user=personas.company_admin, company=personas.company)
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_LEDGER_EXPORT)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


def test_a_run_is_stale_only_when_produced_long_ago_and_not_submitted(personas, make_number):
    run = prepared(personas, make_number)
    long_ago = timezone.now() - timedelta(days=ledger.STALE_DAYS + 1)
    run.produced_at = long_ago
    assert not ledger.is_stale(run)  # prepared, not produced
    run.status = RunStatus.PRODUCED
    assert ledger.is_stale(run)
    run.produced_at = timezone.now() - timedelta(days=ledger.STALE_DAYS - 1)
    assert not ledger.is_stale(run)
    run.status, run.produced_at = RunStatus.SUBMITTED, long_ago
    assert not ledger.is_stale(run)
