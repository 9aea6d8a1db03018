"""Forms of the staff pages. Labels and errors come from Django forms, tied to their fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.web.safe_forms import SafeForm


class SignInForm(SafeForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(SafeForm):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
