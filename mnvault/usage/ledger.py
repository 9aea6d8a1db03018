"""The provision ledger (提供記録) as pages and exports read it: every run of a company with how
many people's numbers it carried — a count, never a number — and which produced runs have
waited too long for submission.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company
from mnvault.domain.roles import Capability
from mnvault.usage.models import DocumentRun, RunStatus
from mnvault.usage.runs import require
from mnvault.vault.services import as_actor

# A run produced but not marked submitted after this many days is shown with a warning: its
# archive of numbers is gone by then (usage.output.ARCHIVE_HOURS) and the filing may have
# been forgotten.
STALE_DAYS = 14


def runs_of(company: Company) -> QuerySet[DocumentRun]:
    """The company's runs, newest first, each with ``provided_count``."""
    return (
        DocumentRun.objects.filter(company=company)
        .select_related("created_by", "produced_by", "submitted_by")
        .annotate(provided_count=Count("provided"))
        .order_by("-created_at", "-pk")
    )


def is_stale(run: DocumentRun) -> bool:
    """Produced, not submitted, and older than ``STALE_DAYS``."""
    return (
        run.status == RunStatus.PRODUCED
        and run.produced_at is not None
        and timezone.now() - run.produced_at > timedelta(days=STALE_DAYS)
    )


def export_ledger(
    *, acting_user: User | Actor, company: Company, client_address: str = ""
) -> QuerySet[DocumentRun]:
    """The runs for a CSV of the provision ledger. The export is recorded first, in its own
    transaction (as the audit log's export); the runs are those that existed then."""
    actor = as_actor(acting_user)
    require(
        actor,
        company,
        Capability.DOCUMENTS_VIEW,
        Action.DOCUMENT_LEDGER_EXPORT,
        detail={},
        client_address=client_address,
    )
    runs = runs_of(company)
    with transaction.atomic(durable=True):
        last = runs.order_by("-pk").values_list("pk", flat=True).first() or 0
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_LEDGER_EXPORT,
            company_id=company.pk,
            client_address=client_address,
            detail={"runs": runs.count(), "last_run": last},
        )
    return runs.filter(pk__lte=last)
