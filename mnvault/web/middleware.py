"""Request middleware of the staff pages: security headers, the office networks, limits on
what a request may carry, idle timeout, second factor, allowed networks."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils.cache import patch_cache_control

from mnvault.accounts import signin
from mnvault.accounts.models import SignInOutcome, User
from mnvault.companies.models import AllowedNetwork, Company
from mnvault.companies.networks import address_allowed
from mnvault.companies.services import record_network_refusal
from mnvault.web.company import roles_in

Handler = Callable[[HttpRequest], HttpResponse]

# No inline script or style anywhere: a stored name can never become code (docs/architecture.md,
# "A request, end to end").
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LAST_SEEN = "mnvault_last_seen"
# The idle stamp is written at most this often: a page view that changes nothing then writes
# nothing (on SQLite a session write takes the one write lock, and queued behind a colleague's
# import every page view waited). The timeout is kept to within this many seconds: a session
# may be signed out up to this much early, never late.
LAST_SEEN_EVERY = 60.0
# Pages a signed-in user may reach before the second factor is done.
BEFORE_SECOND_FACTOR = frozenset(
    {"login", "code", "enrol", "recovery_codes", "logout", "healthz", "set_language"}
)
# The public registration pages (collection), opened from an invitation without an account.
PUBLIC_PREFIX = "reg_"
BEFORE_PASSWORD_CHANGE = BEFORE_SECOND_FACTOR | {"password_change"}
# Besides the registration pages, what a phone outside the office networks may reach: the
# registration pages' language switch and the health check.
OUTSIDE_PAGES = frozenset({"set_language", "healthz"})


class _ResolvedRequest(HttpRequest):
    """A request that ``_match`` has resolved: the match is kept on it."""

    _mnvault_match: ResolverMatch | None


def _match(request: HttpRequest) -> ResolverMatch | None:
    """The URL's match, resolved once per request: middleware runs before Django sets
    ``request.resolver_match``."""
    resolved = cast(_ResolvedRequest, request)
    if not hasattr(resolved, "_mnvault_match"):
        try:
            resolved._mnvault_match = resolve(request.path_info)
        except Resolver404:
            resolved._mnvault_match = None
    return resolved._mnvault_match


def company_id_of(request: HttpRequest) -> int | None:
    """The company whose page this is (the ``company_id`` of ``/c/<company_id>/…``), if any."""
    match = _match(request)
    value = match.kwargs.get("company_id") if match is not None else None
    return value if isinstance(value, int) else None


def security_headers(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "geolocation=(), microphone=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Personal data must not stay in the cache of a shared office PC.
            patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware


def reachable_from_outside(request: HttpRequest) -> bool:
    """Whether a request from outside the office networks may reach this address: the
    registration pages (``/r/…``, ``/register/…``) with their language switch, ``/healthz``,
    and the static files. Decided by the view the address resolves to, not by its spelling,
    so that no ``/register/../`` reaches a staff page."""
    match = _match(request)
    if match is not None:
        name = match.url_name or ""
        return name.startswith(PUBLIC_PREFIX) or name in OUTSIDE_PAGES
    # No view: a static file (served by WhiteNoise, next) or a 404 in any case.
    return request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/"))


def office_only(get_response: Handler) -> Handler:
    """With ``MNVAULT_OFFICE_NETWORKS`` set, every page but those a registering employee needs
    answers 404 to a request from outside the office networks, as if it did not exist: the
    sign-in and staff pages stay on the office network while phones register from anywhere
    through the TLS reverse proxy. The client's address is ``REMOTE_ADDR``, which ``mnvault
    serve`` takes from the trusted proxy's ``X-Forwarded-For`` (``MNVAULT_TRUSTED_PROXY``).
    Runs before the session is read, so the 404 shows nobody as signed in."""

    def middleware(request: HttpRequest) -> HttpResponse:
        networks = settings.MNVAULT_OFFICE_NETWORKS
        address = request.META.get("REMOTE_ADDR", "")
        if (
            networks
            and not address_allowed(address, networks)
            and not reachable_from_outside(request)
        ):
            raise Http404
        return get_response(request)

    return middleware


# Characters of one query parameter or form field, name or value. Well above every field's
# own limit (the longest, a password, takes 1,024), well below what the database or the
# search could choke on: SQLite refuses a LIKE pattern over 50,000 bytes (a 100,000-character
# people search was a 500), PostgreSQL a string holding NUL.
MAX_PARAMETER = 2048


def _unfit(parameters: QueryDict) -> bool:
    return any(
        len(key) > MAX_PARAMETER
        or "\x00" in key
        or any(len(value) > MAX_PARAMETER or "\x00" in value for value in values)
        for key, values in parameters.lists()
    )


def limit_parameters(get_response: Handler) -> Handler:
    """A request whose query parameters or form fields are too long, or hold a NUL character,
    gets a 400 page saying so before any view or query sees it. Each form still limits its
    own fields (max_length), with an error on the field."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if _unfit(request.GET) or (request.method == "POST" and _unfit(request.POST)):
            return render(request, "400.html", {"too_long": True}, status=400)
        return get_response(request)

    return middleware


def idle_timeout(get_response: Handler) -> Handler:
    """Sign out a session idle for longer than the user's timeout (shorter for those who can
    reveal numbers; on a company's pages, the company's own timeout when it set one),
    recording it in the login history. The stamp of the last page view is renewed at most
    once every ``LAST_SEEN_EVERY`` seconds, so that most page views write nothing."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now, last = time.time(), request.session.get(LAST_SEEN)
            if last is not None and now - last > _timeout(request, user).total_seconds():
                signin.record(request, SignInOutcome.TIMEOUT, user=user)
                logout(request)
                return redirect(f"{reverse('web:login')}?{urlencode({'expired': 1})}")
            if last is None or now - last >= LAST_SEEN_EVERY:
                request.session[LAST_SEEN] = now
        return get_response(request)

    return middleware


def _timeout(request: HttpRequest, user: User) -> timedelta:
    company_id = company_id_of(request)
    company = Company.objects.filter(pk=company_id).first() if company_id else None
    return signin.idle_timeout(user, company)


def require_two_factor(get_response: Handler) -> Handler:
    """A user whose roles need a second factor reaches nothing but the sign-in pages until the
    code is given (or, the first time, until a phone is enrolled); then, if they signed in
    with a one-time password, nothing but the page to choose their own."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            match = _match(request)
            name = match.url_name if match else None
            if name and name.startswith(PUBLIC_PREFIX):
                return get_response(request)  # registration pages need no account at all
            if not user.is_verified() and signin.needs_two_factor(user):
                if name not in BEFORE_SECOND_FACTOR:
                    enrolled = signin.totp_device(user) is not None
                    return redirect("web:code" if enrolled else "web:enrol")
            elif user.must_change_password and name not in BEFORE_PASSWORD_CHANGE:
                return redirect("web:password_change")
        return get_response(request)

    return middleware


def allowed_networks(get_response: Handler) -> Handler:
    """A company that registered networks is reached only from inside them (domain R8). A
    member of the company signed in from elsewhere gets 403 on every page of that company,
    and the refusal is audited. Anonymous requests go on to the sign-in redirect, and users
    without a role there to the usual 404, so that neither learns the company exists."""

    def middleware(request: HttpRequest) -> HttpResponse:
        company_id, user = company_id_of(request), request.user
        if company_id is None or not user.is_authenticated:
            return get_response(request)
        cidrs = list(
            AllowedNetwork.objects.filter(company_id=company_id).values_list("cidr", flat=True)
        )
        address = request.META.get("REMOTE_ADDR", "")
        if not cidrs or address_allowed(address, cidrs) or not roles_in(user, company_id):
            return get_response(request)
        match = _match(request)
        record_network_refusal(
            user=user,
            company_id=company_id,
            address=address,
            page=(match.url_name or "") if match else "",
        )
        return render(request, "web/network_refused.html", {"address": address}, status=403)

    return middleware
