"""Forms of the documents pages: a new run from an uploaded payroll file, and marking a run
submitted. Neither ever echoes a number back (SafeForm); the upload itself is refused whole by
the service if it holds one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.companies.models import Company
from mnvault.usage.kinds import KINDS
from mnvault.usage.models import Correction, DocumentRun, SubmissionMethod
from mnvault.web.safe_forms import SafeForm


class DateInput(forms.DateInput):
    input_type = "date"


def default_year() -> int:
    """Documents are mostly made early in a year for the year before (源泉徴収票 by 1/31)."""
    return timezone.localdate().year - 1


class NewRunForm(SafeForm):
    kind = forms.ChoiceField(
        label=_("Document"), help_text=_("What to upload for each document is listed below.")
    )
    year = forms.IntegerField(label=_("Year (of the payments)"), min_value=2000, max_value=2100)
    file = forms.FileField(label=_("Payroll file (CSV, numbers left empty)"))
    recipient_detail = forms.CharField(
        label=_("Recipient (tax office, municipality code, …)"), required=False, max_length=100
    )
    payer_address = forms.CharField(
        label=_("Payer's address as the document names it"), required=False, max_length=120
    )
    payer_phone = forms.CharField(label=_("Payer's telephone"), required=False, max_length=15)
    correction = forms.ChoiceField(
        label=_("New, correction or cancellation"),
        choices=Correction.choices,
        required=False,
    )
    corrects = forms.IntegerField(label=_("Corrects run #"), required=False, min_value=1)

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [(code, spec.label) for code, spec in KINDS.items()]
        self.fields["year"].initial = default_year()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        spec = KINDS.get(data.get("kind", ""))
        if spec is not None and spec.needs_payer_address and not data.get("payer_address", ""):
            self.add_error(
                "payer_address",
                _("This document names the payer's address: give it as it should appear."),
            )
        corrects, correction = data.get("corrects"), data.get("correction", "")
        if corrects and not correction:
            self.add_error("correction", _("Choose correction or cancellation for run #."))
        elif correction and not corrects:
            self.add_error("corrects", _("Give the number of the run it corrects."))
        elif corrects:
            found = DocumentRun.objects.filter(company=self.company, pk=corrects).first()
            if found is None:
                self.add_error("corrects", _("No run of this company has this number."))
            data["corrects_run"] = found
        return data


class SubmitForm(SafeForm):
    submitted_on = forms.DateField(label=_("Submitted on"), widget=DateInput)
    method = forms.ChoiceField(label=_("How"), choices=SubmissionMethod.choices)
