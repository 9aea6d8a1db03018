"""The installation admin's form for a new company, its first responsible manager and,
if it has one, its company admin."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import User
from mnvault.companies.purposes import Purpose
from mnvault.web.forms import PASSWORD_MAX
from mnvault.web.safe_forms import SafeForm


def _appointable():
    """Existing accounts: an accountant's people serve many companies with one account each.
    Never an installation admin, who holds no role in any company."""
    return User.objects.filter(is_installation_admin=False, is_active=True).order_by("username")


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        full_name = obj.get_full_name()
        return f"{obj.username} ({full_name})" if full_name else obj.username


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
    manager = UserChoice(
        queryset=User.objects.none(),
        required=False,
        label=_("Its responsible manager: an existing user"),
        empty_label=_("— a new account, below —"),
    )
    manager_username = forms.CharField(
        label=_("Or a new account: user name"), max_length=150, required=False
    )
    manager_full_name = forms.CharField(
        label=_("Full name of the new account's holder"), max_length=150, required=False
    )
    manager_password = forms.CharField(
        label=_("Their first password"),
        max_length=PASSWORD_MAX,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    company_admin = UserChoice(
        queryset=User.objects.none(),
        required=False,
        label=_("Its company administrator (appoints managers and HR staff): an existing user"),
        empty_label=_("— none, or the manager (below) —"),
    )
    manager_is_company_admin = forms.BooleanField(
        label=_("The responsible manager is also its company administrator"), required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        users = _appointable()
        self.fields["manager"].queryset = users  # type: ignore[attr-defined]
        self.fields["company_admin"].queryset = users  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("manager") is None:
            for field in ("manager_username", "manager_full_name", "manager_password"):
                if not (data.get(field) or "").strip() and field not in self.errors:
                    self.add_error(
                        field,
                        ValidationError(
                            _("Choose an existing user above, or fill this in for a new one."),
                            code="required",
                        ),
                    )
        elif data.get("manager_username") or data.get("manager_password"):
            self.add_error(
                "manager_username",
                ValidationError(
                    _("Choose an existing user or a new account, not both."), code="both"
                ),
            )
        return data
