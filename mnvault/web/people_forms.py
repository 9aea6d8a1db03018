"""Forms for people and for entering a number in person (対面, domain R20, R24)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.companies.models import Company
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.domain.identity import combination_problem
from mnvault.people.models import Person, PersonKind
from mnvault.people.purposes import purposes_for_kind
from mnvault.vault.errors import InvalidNumber
from mnvault.vault.models import DocumentKind, has_active_number
from mnvault.web.safe_forms import SafeForm, SafeModelForm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NoEchoInput(forms.TextInput):
    """A text box that never sends its value back: a number typed into a form with an error
    must not come back in the page (docs/architecture.md, invariant 1)."""

    def format_value(self, value):
        return None


class PersonForm(SafeModelForm):
    class Meta:
        model = Person
        fields = [
            "kind",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "birth_date",
            "employee_code",
            "email",
            "hire_date",
            "leave_date",
            "employee",
            "relationship",
            "contract_start",
            "contract_end",
        ]
        widgets = {
            name: DATE
            for name in ("birth_date", "hire_date", "leave_date", "contract_start", "contract_end")
        }
        labels = {
            "employee": _("Employee (for a dependent)"),
            "kind": _("Kind"),
            "relationship": _("Relationship"),
        }

    def __init__(self, *args, company: Company, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.company = company
        employee = self.fields["employee"]
        assert isinstance(employee, forms.ModelChoiceField)
        employee.queryset = Person.objects.filter(
            company=company, kind=PersonKind.EMPLOYEE
        ).order_by("family_name_kana", "given_name_kana")

    def clean_kind(self) -> str:
        """The kind decides which handlers may reach the number (their scope, domain R1): it
        is fixed once a number is stored, and an employee with dependents stays one."""
        kind, person = self.cleaned_data["kind"], self.instance
        if person.pk is None or kind == person.kind:
            return kind
        if has_active_number(person):
            raise forms.ValidationError(
                _("The kind of a person whose number is stored cannot change.")
            )
        if person.dependents.exists():
            raise forms.ValidationError(_("This employee has dependents: the kind cannot change."))
        return kind


class NumberEntryForm(SafeForm):
    number_fields = ("number",)

    number = forms.CharField(
        label=_("Individual number"),
        max_length=40,
        widget=NoEchoInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    document_kinds = forms.MultipleChoiceField(
        label=_("Documents checked"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    identity_exemption = forms.BooleanField(
        label=_("Known in person: identity document not needed (employees only)"),
        required=False,
    )
    verified_on = forms.DateField(label=_("Checked on"), widget=DATE)
    purposes = forms.MultipleChoiceField(
        label=_("Purposes notified to the person"), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, company: Company, kind: str = PersonKind.EMPLOYEE, **kwargs) -> None:
        """Only the purposes that fit a person of ``kind``, and the R21 exemption only for an
        employee."""
        super().__init__(*args, **kwargs)
        fitting = set(purposes_for_kind(company.notified_purposes(), kind))
        purposes = self.fields["purposes"]
        assert isinstance(purposes, forms.ChoiceField)
        purposes.choices = [c for c in Purpose.choices if c[0] in fitting]
        if kind != PersonKind.EMPLOYEE:
            # R21 spares only an employee known in person the identity document.
            del self.fields["identity_exemption"]
        self.fields["verified_on"].initial = timezone.localdate()

    def clean_number(self) -> str:
        try:
            return numbers.validate(self.cleaned_data["number"])
        except InvalidNumber as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean(self):
        data = super().clean()
        problem = combination_problem(
            data.get("document_kinds") or (),
            identity_exemption=bool(data.get("identity_exemption")),
        )
        if problem and "document_kinds" in data:
            self.add_error("document_kinds", problem)
        return data
