"""Forms of the staff pages. Labels and errors come from Django forms, tied to their fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.web.safe_forms import SafeForm

# Longer passwords are refused by the form rather than hashed (they would only cost time).
PASSWORD_MAX = 1024


class SignInForm(SafeForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(SafeForm):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=24,  # a recovery code in groups of four: "abcd efgh ijkl mnop"
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ReauthForm(SafeForm):
    """Either the password or, for a user with an authenticator app, a code from it."""

    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = forms.CharField(
        label=_("Or a code from your authenticator app"),
        required=False,
        max_length=24,  # a recovery code in groups of four: "abcd efgh ijkl mnop"
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, with_code: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]

    def clean(self):
        data = super().clean()
        if not data.get("password") and not data.get("code") and not self.errors:
            raise forms.ValidationError(_("Enter your password or a code."))
        return data
