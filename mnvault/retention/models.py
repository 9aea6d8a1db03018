"""What retention is computed from, and the disposal batches.

Declarations received (扶養控除等申告書, domain R25, R26) and completed insurance matters (R27)
are recorded here because they create retention obligations whether or not a document run made
them. A disposal batch is proposed by one person and approved by another (two-person rule);
its items keep, per person, the computed date and, when disposed before it, the reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Declaration(models.Model):
    """A withholding declaration (扶養控除等(異動)申告書) of one employee for one year."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    employee = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    # Filed without numbers, relying on the company's number register (R26).
    without_numbers = models.BooleanField(default=False)
    # Ids of the dependents it lists.
    dependents = models.JSONField(default=list, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employee", "year"], name="unique_declaration_year")
        ]

    def __str__(self) -> str:
        return f"declaration {self.year} of person {self.employee_id}"


class InsuranceKind(models.TextChoices):
    HEALTH_PENSION = "health_pension", _("Health insurance and pension documents")
    EMPLOYMENT = "employment", _("Employment insurance documents")
    EMPLOYMENT_INSURED = (
        "employment_insured",
        _("Employment insurance documents about the insured person"),
    )
    WORKERS_COMP = "workers_comp", _("Workers' compensation documents")


class InsuranceMatter(models.Model):
    """A social- or employment-insurance matter of a person, completed on a day (R27's 完結
    の日): the start of its documents' retention."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=InsuranceKind.choices)
    completed_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} of person {self.person_id} on {self.completed_on}"


class BatchStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, awaiting approval")
    APPROVED = "approved", _("Approved, to be disposed of")
    DONE = "done", _("Disposed of")
    REJECTED = "rejected", _("Rejected")


class DisposalBatch(models.Model):
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=BatchStatus.choices)
    # The day the batch is disposed of (R29 allows batch disposal, e.g. at fiscal year-end).
    dispose_on = models.DateField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.CharField(max_length=500, blank=True)
    disposed_at = models.DateTimeField(null=True, blank=True)
    certificate_number = models.CharField(max_length=32, blank=True)
    # The certificate (削除証明書): the certified facts (no number), the audit entry that binds
    # their digest to the log, and the proof up to a signed checkpoint (retention.certificate).
    certificate_facts = models.JSONField(null=True, blank=True)
    certificate_seq = models.BigIntegerField(null=True, blank=True)
    certificate_proof = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_number"],
                condition=~models.Q(certificate_number=""),
                name="unique_certificate_number",
            )
        ]

    def __str__(self) -> str:
        return f"disposal batch {self.pk} ({self.status})"


class DisposalItem(models.Model):
    batch = models.ForeignKey(DisposalBatch, on_delete=models.PROTECT, related_name="items")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The computed disposal date when proposed (None: a hold with no end, e.g. still employed).
    due_on = models.DateField(null=True, blank=True)
    # Why it is disposed of before due_on (the person's request, …): required then.
    early_reason = models.CharField(max_length=500, blank=True)
    # The holds still in force at proposal: rule, label, until (for the approver and the record).
    holds = models.JSONField(default=list, blank=True)
    shredded_at = models.DateTimeField(null=True, blank=True)
    # The person's own certificate (on request, or mailed to them): its certify entry and proof.
    certificate_seq = models.BigIntegerField(null=True, blank=True)
    certificate_proof = models.JSONField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "person"], name="unique_disposal_item")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id}: person {self.person_id}"


class DueNotice(models.Model):
    """That the responsible managers were told a person became due (once per person)."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.OneToOneField("people.Person", on_delete=models.PROTECT, related_name="+")
    notified_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"due notice for person {self.person_id}"
