"""Template context for every staff page: the companies the user can switch between."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from mnvault.accounts import signin
from mnvault.accounts.models import Membership
from mnvault.companies.models import Company
from mnvault.domain.roles import can
from mnvault.web.access import NAVIGATION


def companies(request: HttpRequest) -> dict:
    """Nothing before the second factor: a password alone does not show whom one works for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not user.is_verified() and signin.needs_two_factor(user):
        return {}
    active = Membership.objects.filter(user=user, revoked_at__isnull=True)
    mine = Company.objects.filter(pk__in=active.values("company_id")).order_by("name")
    # Set by company_page on a company's pages only.
    company: Company | None = getattr(request, "company", None)
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    sections = []
    if company is not None:
        for name, label, allowed in NAVIGATION:
            url = _url(name, company.pk)
            if url and can(roles, allowed):
                sections.append((url, translation.gettext(label), request.path.startswith(url)))
    return {"my_companies": mine, "company": company, "sections": sections}


def _url(name: str, company_id: int) -> str:
    """The page's address, or "" for a page not built yet."""
    try:
        return reverse(f"web:{name}", args=[company_id])
    except NoReverseMatch:
        return ""
