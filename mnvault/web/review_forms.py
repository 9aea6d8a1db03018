"""Forms of the handler's review of a submission."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.domain.identity import combination_problem
from mnvault.vault.models import DocumentKind
from mnvault.web.safe_forms import SafeForm


class ApproveForm(SafeForm):
    document_kinds = forms.MultipleChoiceField(
        label=_("Documents checked"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    confirmed = forms.BooleanField(
        label=_("The documents match the entered name, birth date and number."), required=True
    )

    def clean(self):
        data = super().clean()
        problem = combination_problem(data.get("document_kinds") or (), identity_exemption=False)
        if problem and "document_kinds" in data:
            self.add_error("document_kinds", problem)
        return data


class DependentsApproveForm(SafeForm):
    """For a submission of dependents only: the employee's own identity was checked when
    their number was stored, and the employee attests the dependents (domain R23)."""

    confirmed = forms.BooleanField(
        label=_("I checked the dependents' names, birth dates and numbers."), required=True
    )


class SendBackForm(SafeForm):
    # The reason goes to the person by e-mail: SafeForm refuses a number typed here.
    reason = forms.CharField(
        label=_("Reason, for the person"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
