"""Request middleware of the staff pages: security headers, idle timeout, second factor,
allowed networks."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils.cache import patch_cache_control

from mnvault.accounts import signin
from mnvault.accounts.models import SignInOutcome
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.log import Actor
from mnvault.companies.models import AllowedNetwork, Company
from mnvault.companies.networks import address_allowed
from mnvault.web.company import roles_in

Handler = Callable[[HttpRequest], HttpResponse]

# No inline script or style anywhere: a stored name can never become code (design.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LAST_SEEN = "mnvault_last_seen"
# Pages a signed-in user may reach before the second factor is done.
BEFORE_SECOND_FACTOR = frozenset(
    {"login", "code", "enrol", "recovery_codes", "logout", "healthz", "set_language"}
)
# The public registration pages (collection), opened from an invitation without an account.
PUBLIC_PREFIX = "reg_"
BEFORE_PASSWORD_CHANGE = BEFORE_SECOND_FACTOR | {"password_change"}


def _match(request: HttpRequest) -> ResolverMatch | None:
    """The URL's match, resolved once per request: middleware runs before Django sets
    ``request.resolver_match``."""
    if not hasattr(request, "_mnvault_match"):
        try:
            request._mnvault_match = resolve(request.path_info)
        except Resolver404:
            request._mnvault_match = None
    return request._mnvault_match


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


def idle_timeout(get_response: Handler) -> Handler:
    """Sign out a session idle for longer than the user's timeout (shorter for those who can
    reveal numbers; on a company's pages, the company's own timeout when it set one),
    recording it in the login history."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now, last = time.time(), request.session.get(LAST_SEEN)
            if last is not None and now - last > _timeout(request).total_seconds():
                signin.record(request, SignInOutcome.TIMEOUT, user=user)
                logout(request)
                return redirect(f"{reverse('web:login')}?{urlencode({'expired': 1})}")
            request.session[LAST_SEEN] = now
        return get_response(request)

    return middleware


def _timeout(request: HttpRequest) -> timedelta:
    company_id = company_id_of(request)
    company = Company.objects.filter(pk=company_id).first() if company_id else None
    return signin.idle_timeout(request.user, company)


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
        with transaction.atomic():
            audit.record(
                actor=Actor.of(user),
                action=Action.WEB_IP_REFUSED,
                outcome="refused",
                reason="network_not_allowed",
                company_id=company_id,
                client_address=address[:64],
                detail={"page": match.url_name if match else ""},
            )
        return render(request, "web/network_refused.html", {"address": address}, status=403)

    return middleware
