"""Sign-in pages: password, second factor, enrolment of a phone, recovery codes, sign-out."""

from __future__ import annotations

import base64

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from mnvault.accounts import signin
from mnvault.accounts.models import Membership, SignInOutcome
from mnvault.domain.roles import reaches_numbers
from mnvault.web import reauth
from mnvault.web.company import AuthenticatedRequest
from mnvault.web.forms import CodeForm, ReauthForm, SignInForm

RECOVERY_SESSION_KEY = "mnvault_recovery_codes"


@never_cache
@sensitive_post_parameters("password")
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        attempt = signin.check_password(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if attempt.user is not None:
            login(request, attempt.user)
            reauth.mark_authenticated(request)
            return redirect("web:home")
        form.add_error(None, attempt.error)
    notices = {
        "expired": _("Your session expired after a period of inactivity. Please sign in again."),
        "locked": signin.locked_message(),
        "throttled": signin.throttled_message(),
    }
    notice = next((text for key, text in notices.items() if request.GET.get(key) == "1"), "")
    return render(request, "web/sign_in.html", {"form": form, "notice": notice})


@never_cache
@login_required
@sensitive_post_parameters("code")
def code(request: AuthenticatedRequest) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = signin.check_code(request, request.user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            reauth.mark_authenticated(request)
            return redirect("web:home")
        why = signin.shut_out(request, request.user)
        if why:  # too many wrong codes: locked, or held back from this address
            logout(request)
            return redirect(f"{reverse('web:login')}?{why}=1")
        form.add_error("code", _("Wrong code."))
    return render(request, "web/code.html", {"form": form})


@never_cache
@login_required
@sensitive_post_parameters("code")
def enrol(request: AuthenticatedRequest) -> HttpResponse:
    """A first phone, or a new one for a user who has already given this session's code: a
    password alone never replaces the phone (that would skip the second factor)."""
    verified = request.user.is_verified()
    if signin.totp_device(request.user) is not None and not verified:
        return redirect("web:code")
    form = CodeForm(request.POST or None)
    device = signin.totp_device(request.user, confirmed=False)
    if request.method == "POST" and form.is_valid() and device is not None:
        codes = signin.confirm_enrolment(
            request, request.user, form.cleaned_data["code"], verified=verified
        )
        if codes is not None:
            django_otp.login(request, signin.totp_device(request.user))
            reauth.mark_authenticated(request)
            request.session[RECOVERY_SESSION_KEY] = codes
            return redirect("web:recovery_codes")
        form.add_error("code", _("Wrong code: check the time on your phone and try again."))
    else:
        device = signin.start_enrolment(request.user)
    secret = base64.b32encode(signin.totp_secret(device)).decode()
    roles = Membership.objects.filter(user=request.user, revoked_at__isnull=True).values_list(
        "role", flat=True
    )
    context = {
        "form": form,
        "reaches_numbers": any(reaches_numbers(role) for role in roles),  # why the second factor
        "qr": segno.make(signin.config_url(device), error="m").svg_data_uri(scale=5),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "web/enrol.html", context)


@never_cache
@login_required
@sensitive_post_parameters("password", "code")
def confirm(request: AuthenticatedRequest) -> HttpResponse:
    """The password or a code again, before revealing a number or changing roles; then back
    to the page the user came from (``next``), where they do it again."""
    back = reauth.safe_next(request)
    with_code = signin.totp_device(request.user) is not None
    posted = request.POST if request.method == "POST" else None  # an empty form: errors
    form = ReauthForm(posted, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if signin.reauthenticate(
            request, request.user, password=data["password"], code=data.get("code", "")
        ):
            reauth.mark_authenticated(request)
            messages.success(request, _("Confirmed. You can go on now."))
            return redirect(back)
        why = signin.shut_out(request, request.user)
        if why:
            logout(request)
            return redirect(f"{reverse('web:login')}?{why}=1")
        form.add_error(None, _("Wrong password or code."))
    context = {"form": form, "minutes": round(reauth.minutes())}
    return render(request, "web/reauth.html", context)


@never_cache
@login_required
def recovery_codes(request: AuthenticatedRequest) -> HttpResponse:
    """Shown once, right after enrolment; a reload shows nothing."""
    codes = request.session.pop(RECOVERY_SESSION_KEY, None)
    if not codes:
        return redirect("web:home")
    return render(request, "web/recovery_codes.html", {"codes": codes})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        signin.record(request, SignInOutcome.LOGOUT, user=request.user)
    logout(request)
    return redirect("web:login")
