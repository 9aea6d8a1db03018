"""Company scope of the staff pages: every company page lives under ``/c/<company_id>/`` and is
reachable only by users with an active role there. Anyone else gets 404, so not even the
existence of another company's records leaks (docs/architecture.md, invariant 5)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase

from mnvault.accounts.models import Membership, User
from mnvault.companies.models import Company
from mnvault.domain.roles import can


class AuthenticatedRequest(HttpRequest):
    """A request past ``login_required``: its user is a real account."""

    user: User


class CompanyRequest(AuthenticatedRequest):
    """A request to a company page, as ``company_page`` hands it to the view."""

    company: Company
    roles: frozenset[str]


def roles_in(user: User, company_id: int) -> frozenset[str]:
    return frozenset(
        Membership.objects.filter(
            user=user, company_id=company_id, revoked_at__isnull=True
        ).values_list("role", flat=True)
    )


CompanyView = Callable[Concatenate[CompanyRequest, ...], HttpResponseBase]


def company_page(
    *, capability: str | None = None
) -> Callable[[CompanyView], Callable[..., HttpResponseBase]]:
    """The view gets a ``CompanyRequest``; ``capability`` (from the role table) limits who may
    see the page at all (others get 404 as well)."""

    def decorate(view: CompanyView) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapped(
            request: AuthenticatedRequest, company_id: int, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            held = roles_in(request.user, company_id)
            if not held or (capability is not None and not can(held, capability)):
                raise Http404
            company_request = cast(CompanyRequest, request)  # given its company and roles next
            company_request.company = Company.objects.get(pk=company_id)
            company_request.roles = held
            return view(company_request, *args, **kwargs)

        return wrapped

    return decorate
