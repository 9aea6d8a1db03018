"""Forms of the users-and-roles and company-settings pages. They check the shape of what was
typed; who may do what is decided by the services (accounts.services, companies.services)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.jp import cn

from mnvault.accounts.models import Role, User
from mnvault.companies.countries import normalise_country, validate_country
from mnvault.companies.models import IDLE_MINUTES_MAX
from mnvault.companies.networks import normalise_network
from mnvault.companies.purposes import Purpose
from mnvault.people.models import PersonKind
from mnvault.web.forms import PASSWORD_MAX
from mnvault.web.safe_forms import SafeForm


class GrantRoleForm(SafeForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    person_kinds = forms.MultipleChoiceField(
        label=_("Person kinds served (none ticked: every kind)"),
        choices=PersonKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def offer(self, grantable: list[str]) -> GrantRoleForm:
        """The drop-down offers only ``grantable``, the roles the signed-in user may grant
        (accounts.services.may_grant). Any role is still accepted when posted, so that a forged
        choice reaches the service, which refuses it and audits the refusal."""
        widget = self.fields["role"].widget
        widget.choices = [(value, label) for value, label in Role.choices if value in grantable]
        return self

    def clean_username(self) -> User:
        user = User.objects.filter(username=self.cleaned_data["username"].strip()).first()
        if user is None:
            raise ValidationError(_("No user has this name."), code="unknown_user")
        return user


class NewUserForm(SafeForm):
    """User name, the person's full name and first password; accounts.services.create_user
    checks the name and the password (Django's password validators) and its errors come back
    to these fields."""

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    password = forms.CharField(
        label=_("First password"),
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SettingsForm(SafeForm):
    corporate_number = forms.CharField(
        label=_("Corporate number (法人番号, 13 digits)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    purposes = forms.MultipleChoiceField(
        label=_("Purposes the company notifies"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    idle_minutes = forms.IntegerField(
        label=_(
            "Idle timeout in minutes on this company's pages (it can only shorten the default)"
        ),
        min_value=1,
        max_value=IDLE_MINUTES_MAX,
        required=False,
    )
    data_country = forms.CharField(
        label=_("Country where numbers are kept and handled (ISO 3166-1 code, such as JP)"),
        max_length=2,
        min_length=2,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 2}),
    )

    def clean_corporate_number(self) -> str:
        value = self.cleaned_data["corporate_number"]
        if not value.strip():
            return ""
        try:
            return cn.validate(value)  # full-width digits, spaces and hyphens folded (R41)
        except stdnum_errors.ValidationError:
            raise ValidationError(
                _("This is not a valid corporate number: 13 digits, the first a check digit."),
                code="invalid_corporate_number",
            ) from None

    def clean_data_country(self) -> str:
        value = normalise_country(self.cleaned_data["data_country"])
        validate_country(value)
        return value


class NetworkForm(SafeForm):
    cidr = forms.CharField(
        label=_("IP address or range (CIDR, IPv4 or IPv6)"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    note = forms.CharField(
        label=_("Note (which office or terminal)"), max_length=200, required=False
    )

    def clean_cidr(self) -> str:
        return normalise_network(self.cleaned_data["cidr"])
