"""The first page after signing in: the companies the user works for, and for the
installation admin, who holds no role in any, the companies they created."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from mnvault.accounts.models import LoginEvent, Membership
from mnvault.companies.services import companies_created_by
from mnvault.web.company import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, revoked_at__isnull=True)
        .select_related("company")
        .order_by("company__name", "role")
    )
    history = LoginEvent.objects.filter(user=request.user)[:10]
    created = companies_created_by(request.user) if request.user.is_installation_admin else []
    context = {"memberships": memberships, "history": history, "created": created}
    return render(request, "web/home.html", context)
