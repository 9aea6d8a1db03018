"""Employees, their dependents and individual payees — everything about a person except the
number itself, which only the vault core holds."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Protocol

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mnvault.companies.purposes import Purpose


class PersonKind(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    DEPENDENT = "dependent", _("Dependent")
    PAYEE = "payee", _("Payee")


class Relationship(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


def new_key_ref() -> str:
    return secrets.token_hex(16)


class PersonFacts(Protocol):
    """What ``Person.clean`` reads: a person, or a draft of one read from a CSV row
    (``people.csv_rows.PersonDraft``), which the same rules check."""

    @property
    def company_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def employee(self) -> PersonFacts | None: ...
    @property
    def relationship(self) -> str: ...
    @property
    def hire_date(self) -> date | None: ...
    @property
    def leave_date(self) -> date | None: ...
    @property
    def contract_start(self) -> date | None: ...
    @property
    def contract_end(self) -> date | None: ...


class Person(models.Model):
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=PersonKind.choices)
    family_name = models.CharField(_("Family name"), max_length=100)
    given_name = models.CharField(_("Given name"), max_length=100)
    family_name_kana = models.CharField(_("Family name (kana)"), max_length=100, blank=True)
    given_name_kana = models.CharField(_("Given name (kana)"), max_length=100, blank=True)
    birth_date = models.DateField(_("Birth date"), null=True, blank=True)
    employee_code = models.CharField(_("Employee code"), max_length=50, blank=True)
    # Where the invitation to register one's number is sent (collection); never a login.
    email = models.EmailField(_("E-mail address"), blank=True)
    hire_date = models.DateField(_("Hire date"), null=True, blank=True)
    leave_date = models.DateField(_("Leave date"), null=True, blank=True)
    # A dependent belongs to one employee of the same company.
    employee = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependents"
    )
    relationship = models.CharField(max_length=16, choices=Relationship.choices, blank=True)
    contract_start = models.DateField(_("Contract start"), null=True, blank=True)
    contract_end = models.DateField(_("Contract end"), null=True, blank=True)
    # Names this person's data key in the key store (vault.datakeys); random, never reused.
    key_ref = models.CharField(max_length=32, unique=True, default=new_key_ref, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "employee_code"],
                condition=~models.Q(employee_code=""),
                name="unique_employee_code_per_company",
            )
        ]
        indexes = [
            models.Index(fields=["company", "kind"]),
            models.Index(fields=["company", "family_name_kana", "given_name_kana"]),
        ]

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}"

    def clean(self: PersonFacts) -> None:
        errors: dict[str, str | Promise] = {}
        employee = self.employee  # may be an unsaved employee of the same CSV import
        if self.kind == PersonKind.DEPENDENT:
            if employee is None:
                errors["employee"] = _("A dependent needs an employee.")
            elif employee.company_id != self.company_id or employee.kind != PersonKind.EMPLOYEE:
                errors["employee"] = _("The employee must be an employee of the same company.")
            if not self.relationship:
                errors["relationship"] = _("The relationship is required.")
        elif employee is not None or self.relationship:
            errors["employee"] = _("Only a dependent belongs to an employee.")
        if self.hire_date and self.leave_date and self.leave_date < self.hire_date:
            errors["leave_date"] = _("The leave date is before the hire date.")
        if self.contract_start and self.contract_end and self.contract_end < self.contract_start:
            errors["contract_end"] = _("The contract ends before it starts.")
        if errors:
            raise ValidationError(errors)


class PersonPurpose(models.Model):
    """A purpose notified to this person when the number was collected (domain R11). A reveal
    for a purpose not listed here is refused."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="purposes")
    purpose = models.CharField(max_length=40, choices=Purpose.choices)
    notified_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "purpose"], name="unique_person_purpose")
        ]
