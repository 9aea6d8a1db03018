"""The user's own account: changing the password (required after a one-time password)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from mnvault.accounts import signin
from mnvault.web import reauth
from mnvault.web.company import AuthenticatedRequest


@never_cache
@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def password_change(request: AuthenticatedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    form.fields["old_password"].label = _("Current password")  # not Django's "Old password"
    if request.method == "POST" and form.is_valid():
        user = signin.change_password(request, form)
        update_session_auth_hash(request, user)  # stay signed in with the new password
        reauth.mark_authenticated(request)  # the old password was just given
        messages.success(request, _("Your password was changed."))
        return redirect("web:home")
    return render(request, "web/password_change.html", {"form": form})
