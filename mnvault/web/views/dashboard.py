"""A company's dashboard: people by kind and by whether their number is stored."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise

from mnvault.audit.models import AuditEntry
from mnvault.backup import schedule as backups
from mnvault.collection import review
from mnvault.collection.invitations import INVITABLE_KINDS
from mnvault.collection.status import CollectionStatus, status_counts
from mnvault.companies.models import Company
from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.people.models import Person, PersonKind
from mnvault.scheduler import heartbeat
from mnvault.vault.models import NumberRecord, NumberStatus
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.views.disposal import due_count

ALERT_DAYS = 7


def _recent_refusals(request: CompanyRequest) -> int:
    """Refused or failed actions of the last week: the first thing to look at when checking
    the access log for unauthorised use (domain R7)."""
    since = timezone.now() - timedelta(days=ALERT_DAYS)
    return AuditEntry.objects.filter(
        company_id=request.company.pk, created_at__gte=since, outcome__in=("refused", "failed")
    ).count()


def _collection(company: Company) -> list[tuple[str, str | Promise, int]]:
    people = Person.objects.filter(company=company, kind__in=INVITABLE_KINDS)
    counts = status_counts(people)
    return [(code, label, counts[code]) for code, label in CollectionStatus.choices]


@company_page()
def dashboard(request: CompanyRequest) -> HttpResponse:
    company = request.company
    by_kind = dict(
        Person.objects.filter(company=company).values_list("kind").annotate(n=Count("pk"))
    )
    audits = can(request.roles, C.AUDIT_READ)
    stored = NumberRecord.objects.filter(company=company, status=NumberStatus.ACTIVE).count()
    total = sum(by_kind.values())
    context = {
        "kinds": [(label, by_kind.get(code, 0)) for code, label in PersonKind.choices],
        "total": total,
        "stored": stored,
        "missing": total - stored,
        "refusals": _recent_refusals(request) if audits else None,
        # Checkpoints that stopped leave the log unprovable: those who audit must know.
        "checkpoints": heartbeat.health(heartbeat.CHECKPOINTS) if audits else None,
        # Backups are the installation's: those who audit see when the last good one was made.
        "backups": backups.dashboard_status(timezone.now()) if audits else None,
        "collection": _collection(company),
        "to_review": review.queue(company).count()
        if can(request.roles, C.COLLECTION_REVIEW)
        else None,
        "due_for_disposal": due_count(request),
    }
    return render(request, "web/dashboard.html", context)
