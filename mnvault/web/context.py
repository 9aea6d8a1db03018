"""Template context for every staff page: the companies the user can switch between."""

from __future__ import annotations

from django.http import HttpRequest

from mnvault.accounts import signin
from mnvault.accounts.models import Membership
from mnvault.companies.models import Company


def companies(request: HttpRequest) -> dict:
    """Nothing before the second factor: a password alone does not show whom one works for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not user.is_verified() and signin.needs_two_factor(user):
        return {}
    active = Membership.objects.filter(user=user, revoked_at__isnull=True)
    mine = Company.objects.filter(pk__in=active.values("company_id")).order_by("name")
    return {"my_companies": mine, "company": getattr(request, "company", None)}
