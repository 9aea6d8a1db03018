"""Collection (取得): invitations, what a person submits through one, and each company's
collection settings.

Everything secret that a person submits — their number, their dependents' numbers, the photos
of their identity documents — is stored here only as ciphertext sealed through the vault API
(``mnvault.vault.api``); no module of this app calls a cipher itself.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from mnvault.people.models import Relationship
from mnvault.vault.models import DocumentKind


def new_ref() -> str:
    return secrets.token_hex(16)


class CollectionSettings(models.Model):
    """A company's choices for collection; a company without a row has the defaults."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="collection_settings"
    )
    invitation_days = models.PositiveSmallIntegerField(
        _("Days an invitation stays valid"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    # 0: no automatic reminders.
    reminder_every_days = models.PositiveSmallIntegerField(
        _("Remind every N days (0: never)"),
        default=3,
        validators=[MaxValueValidator(30)],
    )
    email_code_required = models.BooleanField(
        _("Also ask for a one-time code sent by e-mail"), default=False
    )
    # 0: the document photos are destroyed the moment the handler approves.
    document_retention_days = models.PositiveSmallIntegerField(
        _("Days the identity document photos are kept after approval (0: none)"),
        default=0,
        validators=[MaxValueValidator(3660)],
    )


class Invitation(models.Model):
    """A single-use invitation to register one's own number. The token is never stored: only
    its SHA-256, so the table alone opens no registration."""

    class Delivery(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PRINT = "print", _("Printed sheet")

    class Scope(models.TextChoices):
        # The person's own number, their documents, and their dependents.
        FULL = "full", _("Own number and dependents")
        # For an employee whose number is stored: dependents added later (a birth, a
        # marriage, the year-end changes). No own number, no own documents; the employee
        # attests the dependents (domain R23).
        DEPENDENTS = "dependents", _("Dependents only")

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    delivery = models.CharField(max_length=8, choices=Delivery.choices)
    email = models.EmailField(blank=True)
    # The purposes notified to the person with this invitation (domain R11).
    purposes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # Issued because the handler sent the previous submission back.
    follows_send_back = models.BooleanField(default=False)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.FULL)
    birth_date_failures = models.PositiveSmallIntegerField(default=0)
    email_code_hash = models.CharField(max_length=64, blank=True)
    email_code_expires_at = models.DateTimeField(null=True, blank=True)
    email_code_failures = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company", "person"])]

    def __repr__(self) -> str:
        return f"<Invitation {self.pk} person={self.person_id}>"

    @property
    def dependents_only(self) -> bool:
        return self.scope == self.Scope.DEPENDENTS


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("Being entered")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    SENT_BACK = "sent_back", _("Sent back")


class Submission(models.Model):
    """What one person entered through one invitation: at most one per invitation, which is
    what makes a link submitted twice at once register once."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="submissions"
    )
    invitation = models.OneToOneField(
        Invitation, on_delete=models.PROTECT, related_name="submission"
    )
    # Binds the ciphertexts below to this submission (associated data of the seal).
    ref = models.CharField(max_length=32, unique=True, default=new_ref, editable=False)
    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    number_ciphertext = models.BinaryField(null=True)
    document_kinds = models.JSONField(default=list)
    purposes = models.JSONField(default=list)
    notice_acknowledged_at = models.DateTimeField(null=True)
    # 扶養親族の本人確認は従業員が行う (domain R23): the employee says they verified them.
    dependents_attested_at = models.DateTimeField(null=True)
    submitted_at = models.DateTimeField(null=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True)
    send_back_reason = models.CharField(max_length=500, blank=True)
    # Names the key (in the key store) that seals the document photos; destroying that key
    # destroys the photos for good, backups of the data included.
    document_key_ref = models.CharField(max_length=32, unique=True, default=new_ref)
    documents_expire_at = models.DateTimeField(null=True)
    documents_destroyed_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["company", "status"])]

    def __repr__(self) -> str:
        return f"<Submission {self.pk} person={self.person_id} status={self.status}>"


class SubmittedDependent(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="dependents")
    ref = models.CharField(max_length=32, unique=True, default=new_ref, editable=False)
    family_name = models.CharField(_("Family name"), max_length=100)
    given_name = models.CharField(_("Given name"), max_length=100)
    family_name_kana = models.CharField(_("Family name (kana)"), max_length=100)
    given_name_kana = models.CharField(_("Given name (kana)"), max_length=100)
    relationship = models.CharField(_("Relationship"), max_length=16, choices=Relationship.choices)
    birth_date = models.DateField(_("Birth date"))
    number_ciphertext = models.BinaryField(null=True)
    # The dependent's own record, made when the handler approves.
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, related_name="+"
    )

    def __repr__(self) -> str:
        return f"<SubmittedDependent {self.pk} submission={self.submission_id}>"


class DependentChange(models.Model):
    """A change the employee asks for to a dependent already on record, through an invitation
    for dependents only: new details (name, kana, relationship, birth date), or that they are
    no longer a dependent. Applied when the handler approves; no number is involved — the
    dependent's stored number is never shown to the employee nor asked again."""

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change the details")
        REMOVE = "remove", _("No longer a dependent")

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="dependent_changes"
    )
    dependent = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The new details of a change; blank for a removal.
    family_name = models.CharField(_("Family name"), max_length=100, blank=True)
    given_name = models.CharField(_("Given name"), max_length=100, blank=True)
    family_name_kana = models.CharField(_("Family name (kana)"), max_length=100, blank=True)
    given_name_kana = models.CharField(_("Given name (kana)"), max_length=100, blank=True)
    relationship = models.CharField(
        _("Relationship"), max_length=16, choices=Relationship.choices, blank=True
    )
    birth_date = models.DateField(_("Birth date"), null=True, blank=True)
    # Set when the handler approves; an applied removal takes the dependent off the
    # employee's list (the stored number stays until its disposal, domain R29).
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "dependent"], name="one_change_per_dependent"
            )
        ]

    def __repr__(self) -> str:
        return f"<DependentChange {self.pk} {self.kind} dependent={self.dependent_id}>"


class DocumentSide(models.TextChoices):
    """Which side of the My Number card a photo shows: the photo and name are on the front
    (表面), the number on the back (裏面); both are needed (domain R20)."""

    FRONT = "front", _("Front")
    BACK = "back", _("Back")


class IdentityDocument(models.Model):
    """One photo (or PDF) of an identity document, cleaned of its metadata and sealed."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="documents")
    ref = models.CharField(max_length=32, unique=True, default=new_ref, editable=False)
    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    # Only for the My Number card; blank for a one-sided document.
    side = models.CharField(max_length=8, choices=DocumentSide.choices, blank=True)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    ciphertext = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __repr__(self) -> str:
        return f"<IdentityDocument {self.pk} kind={self.kind}>"

    @property
    def label(self) -> str:
        """The document's name, with the side of the card where there is one."""
        if self.kind == DocumentKind.MY_NUMBER_CARD and self.side == DocumentSide.FRONT:
            return str(_("My Number card (front)"))
        if self.kind == DocumentKind.MY_NUMBER_CARD and self.side == DocumentSide.BACK:
            return str(_("My Number card (back)"))
        return str(self.get_kind_display())


class NumberRefusal(models.Model):
    """A person's refusal to provide their number (番号の提供を拒否), recorded so that the
    employer can show it asked: the reason as told, who recorded it and when. The requests
    themselves are the person's invitations and reminders (``refusals.requests_of``). A
    refusal is withdrawn, never deleted, when the person later provides the number."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="number_refusals"
    )
    reason = models.TextField(max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # At most one refusal in force per person.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="one_open_refusal_per_person",
            )
        ]

    def __repr__(self) -> str:
        return f"<NumberRefusal {self.pk} person={self.person_id}>"
