"""Re-authentication ("sudo mode"): revealing or exporting a number, and granting or revoking
a role, need the password or a one-time code given within the last ``MNVAULT_REAUTH_MINUTES``.
A stale session is sent to the confirmation page and then back to the page it came from; a
POST that was held back is not replayed: the user comes back to the page, is told so, and
does it again.

The time of the last proof is kept in the session and handed to the vault with the actor
(``session_actor``), so the vault refuses, and audits, a reveal from a stale session even
if a page forgot this check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, Concatenate
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from mnvault.audit.actors import Actor
from mnvault.vault.access import recently_authenticated
from mnvault.web.company import AuthenticatedRequest, CompanyRequest

AUTHENTICATED_AT = "mnvault_authenticated_at"
MAX_NEXT = 2000  # characters of the address to come back to


def mark_authenticated(request: HttpRequest) -> None:
    """The user has just given their password or a code."""
    request.session[AUTHENTICATED_AT] = time.time()


def authenticated_at(request: HttpRequest) -> datetime:
    """When this session last gave a password or a code; a session without the mark (from
    before it was kept) counts as long ago."""
    value = request.session.get(AUTHENTICATED_AT)
    try:
        return datetime.fromtimestamp(float(value if value is not None else 0), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, tz=UTC)


def session_actor(request: AuthenticatedRequest) -> Actor:
    """The signed-in user as the vault sees them, with the time of their last proof."""
    return Actor.of(request.user, authenticated_at=authenticated_at(request))


def is_recent(request: AuthenticatedRequest) -> bool:
    return recently_authenticated(session_actor(request))


def confirm_url(next_url: str) -> str:
    return f"{reverse('web:reauth')}?{urlencode({'next': next_url})}"


def safe_next(request: HttpRequest) -> str:
    """The page to go back to: a path on this site only, else the home page."""
    target = request.GET.get("next", "")
    allowed = (
        0 < len(target) <= MAX_NEXT
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )
    return target if allowed else reverse("web:home")


def to_confirmation(request: HttpRequest, back: str) -> HttpResponseRedirect:
    """Off to the confirmation page, then back to ``back``. What was posted is not kept:
    the user is told to do it again (never lost silently)."""
    if request.method != "GET":
        messages.info(request, _("Nothing was done yet: confirm who you are, then do it again."))
    return redirect(confirm_url(back))


View = Callable[Concatenate[CompanyRequest, ...], HttpResponseBase]


def reauthenticated(
    back: Callable[..., str],
) -> Callable[[View], View]:
    """For a company page (inside ``company_page``, so outsiders still get 404): a stale
    session goes to the confirmation page first. ``back(request, *args, **kwargs)`` is the
    page to come back to after a POST; after a GET it is the page itself."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: CompanyRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if is_recent(request):
                return view(request, *args, **kwargs)
            target = (
                request.get_full_path()
                if request.method == "GET"
                else back(request, *args, **kwargs)
            )
            return to_confirmation(request, target)

        return wrapped

    return decorate


def minutes() -> float:
    return float(settings.MNVAULT_REAUTH_MINUTES)
