"""Company scope of the staff pages: every company page lives under ``/c/<company_id>/`` and is
reachable only by users with an active role there. Anyone else gets 404, so not even the
existence of another company's records leaks (docs/architecture.md, invariant 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from mnvault.accounts.models import Membership
from mnvault.companies.models import Company


def roles_in(user, company_id: int) -> frozenset[str]:
    return frozenset(
        Membership.objects.filter(
            user=user, company_id=company_id, revoked_at__isnull=True
        ).values_list("role", flat=True)
    )


def company_page(*, roles: Iterable[str] | None = None) -> Callable:
    """The view gets ``request.company`` and ``request.roles``; ``roles`` limits who may see
    the page at all (others get 404 as well)."""
    required = frozenset(roles) if roles else None

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, company_id: int, *args, **kwargs) -> HttpResponse:
            held = roles_in(request.user, company_id)
            if not held or (required is not None and not held & required):
                raise Http404
            request.company = Company.objects.get(pk=company_id)
            request.roles = held
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
