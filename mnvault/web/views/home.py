"""The first page after signing in: the companies the user works for."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from mnvault.accounts.models import LoginEvent, Membership
from mnvault.web.company import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, revoked_at__isnull=True)
        .select_related("company")
        .order_by("company__name", "role")
    )
    history = LoginEvent.objects.filter(user=request.user)[:10]
    return render(request, "web/home.html", {"memberships": memberships, "history": history})
