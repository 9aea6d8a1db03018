"""Request middleware of the staff pages: security headers, idle timeout, second factor."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from mnvault.accounts import signin
from mnvault.accounts.models import SignInOutcome

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


def security_headers(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "geolocation=(), microphone=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response

    return middleware


def idle_timeout(get_response: Handler) -> Handler:
    """Sign out a session idle for longer than the user's timeout (shorter for those who can
    reveal numbers), recording it in the login history."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now, last = time.time(), request.session.get(LAST_SEEN)
            if last is not None and now - last > signin.idle_timeout(user).total_seconds():
                signin.record(request, SignInOutcome.TIMEOUT, user=user)
                logout(request)
                return redirect(f"{reverse('web:login')}?{urlencode({'expired': 1})}")
            request.session[LAST_SEEN] = now
        return get_response(request)

    return middleware


def require_two_factor(get_response: Handler) -> Handler:
    """A user whose roles need a second factor reaches nothing but the sign-in pages until the
    code is given (or, the first time, until a phone is enrolled)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not user.is_verified() and signin.needs_two_factor(user):
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in BEFORE_SECOND_FACTOR:
                enrolled = signin.totp_device(user) is not None
                return redirect("web:code" if enrolled else "web:enrol")
        return get_response(request)

    return middleware
