"""Document runs and the provision ledger (提供記録).

A run is one statutory document of one kind and year for one recipient authority, made from
payroll data that holds no number. Its rows keep the input as it came (never a number: the
upload refuses a file that holds one), the person each row was matched to, and what stands in
the way of filling it. ``ProvidedPerson`` records whose numbers went into the file — ids only,
never numbers (domain R4) — which is what a person page shows as "documents that carried your
number", and the provision ledger is the runs with their submission.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    PRODUCING = "producing", _("Being produced")
    PRODUCED = "produced", _("Produced, not yet submitted")
    FAILED = "failed", _("Production failed")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Recipient(models.TextChoices):
    """Where the document goes (the provision: 提供先)."""

    TAX_OFFICE = "tax_office", _("Tax office")
    ELTAX = "eltax", _("Municipalities and the tax office, through eLTAX")
    MUNICIPALITY = "municipality", _("Municipality")
    PENSION_OFFICE = "pension_office", _("Pension office")
    HELLO_WORK = "hello_work", _("Public employment office (Hello Work)")
    KEPT = "kept", _("Kept by the company (register)")


class SubmissionMethod(models.TextChoices):
    ETAX = "etax", _("e-Tax")
    ELTAX = "eltax", _("eLTAX")
    EGOV = "egov", _("e-Gov")
    PAPER = "paper", _("Paper")
    DISC = "disc", _("Optical disc")
    FILING_PROGRAM = "filing_program", _("The pension service's filing program")


class Correction(models.TextChoices):
    """A run that corrects or cancels an earlier one (訂正・取消) links to it."""

    NONE = "", _("New")
    CORRECTION = "correction", _("Correction")
    CANCELLATION = "cancellation", _("Cancellation")


class DocumentRun(models.Model):
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40)  # usage.kinds code
    year = models.PositiveSmallIntegerField()
    recipient = models.CharField(max_length=20, choices=Recipient.choices)
    # The authority itself: a tax office's name, a municipality code (市区町村コード), …
    recipient_detail = models.CharField(max_length=100, blank=True)
    correction = models.CharField(max_length=16, choices=Correction.choices, blank=True)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    source_name = models.CharField(max_length=200, blank=True)  # the uploaded file's name
    # The payer as the document names it, where the input file does not (309).
    payer_address = models.CharField(max_length=120, blank=True)
    payer_phone = models.CharField(max_length=15, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Production (in the background: scheduler.tasks).
    task_id = models.BigIntegerField(null=True, blank=True)
    produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    produced_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # counts, thresholds; never a number
    # The encrypted archive waiting for download, under the data directory, and until when.
    output_name = models.CharField(max_length=100, blank=True)
    output_expires_at = models.DateTimeField(null=True, blank=True)
    # The archive's password, sealed under a key of its own in the key store, until the
    # archive is written; then the key is shredded (usage.production).
    password_sealed = models.BinaryField(null=True, blank=True)
    password_key_ref = models.CharField(max_length=32, blank=True)
    # The recipients' copies (no number), a plain PDF under the data directory.
    copies_name = models.CharField(max_length=100, blank=True)
    # Submission (提出) or withdrawal.
    submitted_on = models.DateField(null=True, blank=True)
    submission_method = models.CharField(
        max_length=20, choices=SubmissionMethod.choices, blank=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company", "status"])]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.kind} {self.year}"


class MatchState(models.TextChoices):
    BY_CODE = "by_code", _("Matched by employee code")
    TO_CONFIRM = "to_confirm", _("Matched by name and birth date: to be confirmed")
    CONFIRMED = "confirmed", _("Confirmed by a handler")
    UNMATCHED = "unmatched", _("Matches nobody")
    EXCLUDED = "excluded", _("Left out by a handler")


class RunRow(models.Model):
    """One line of the input, as it came (numbers empty), and what it was matched to."""

    run = models.ForeignKey(DocumentRun, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    values = models.JSONField()  # the input's fields, in order
    label = models.CharField(max_length=200)  # the name as the input gives it, for the pages
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    match = models.CharField(max_length=16, choices=MatchState.choices)
    # The people behind the row's relatives (spouse, dependents), in the input's order;
    # null where the input names someone mnvault does not hold.
    relatives = models.JSONField(default=list, blank=True)
    # Problem codes (usage.checks.PROBLEMS) found when the run was checked.
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "line"], name="unique_run_line")]
        ordering = ["line"]

    def __str__(self) -> str:
        return f"run {self.run_id} line {self.line}"


class ProvidedRole(models.TextChoices):
    SUBJECT = "subject", _("The person the document is about")
    RELATIVE = "relative", _("Spouse or dependent listed on it")


class ProvidedPerson(models.Model):
    """A person whose number went into a produced run's file (the provision ledger)."""

    run = models.ForeignKey(DocumentRun, on_delete=models.PROTECT, related_name="provided")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=ProvidedRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "person"], name="unique_provided_person")
        ]
        indexes = [models.Index(fields=["person"])]

    def __str__(self) -> str:
        return f"run {self.run_id}: person {self.person_id}"
