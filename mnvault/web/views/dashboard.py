"""A company's dashboard: people by kind and by whether their number is stored."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mnvault.people.models import Person, PersonKind
from mnvault.vault.models import NumberRecord, NumberStatus
from mnvault.web.company import company_page


@company_page()
def dashboard(request: HttpRequest) -> HttpResponse:
    company = request.company
    by_kind = dict(
        Person.objects.filter(company=company).values_list("kind").annotate(n=Count("pk"))
    )
    stored = NumberRecord.objects.filter(company=company, status=NumberStatus.ACTIVE).count()
    total = sum(by_kind.values())
    context = {
        "kinds": [(label, by_kind.get(code, 0)) for code, label in PersonKind.choices],
        "total": total,
        "stored": stored,
        "missing": total - stored,
    }
    return render(request, "web/dashboard.html", context)
