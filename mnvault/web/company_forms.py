"""The installation admin's form for a new company and its first responsible manager."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.companies.purposes import Purpose
from mnvault.web.forms import PASSWORD_MAX
from mnvault.web.safe_forms import SafeForm


class NewCompanyForm(SafeForm):
    name = forms.CharField(label=_("Company name"), max_length=200)
    corporate_number = forms.CharField(
        label=_("Corporate number (法人番号, 13 digits)"), max_length=20, required=False
    )
    purposes = forms.MultipleChoiceField(
        label=_("Purposes the company notifies"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    manager_username = forms.CharField(
        label=_("User name of its responsible manager"), max_length=150
    )
    manager_password = forms.CharField(
        label=_("Their first password"),
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(render_value=False),
    )
