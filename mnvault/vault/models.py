"""The stored number and the per-person data keys.

``NumberRecord`` lives with the rest of the data; ``DataKey`` lives in the key store (its own
database, see ``routers``), so a backup of the data holds ciphertext but no key that opens it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mnvault.domain.identity import DocumentKind

__all__ = [
    "DataKey",
    "DisposalJournal",
    "DocumentKind",
    "KeyStoreState",
    "NumberRecord",
    "NumberStatus",
    "VerificationChannel",
    "has_active_number",
]


class NumberStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting verification")
    ACTIVE = "active", _("Active")
    DISPOSED = "disposed", _("Disposed")


class VerificationChannel(models.TextChoices):
    """How the number and identity were checked (domain R24)."""

    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Online")
    MAIL = "mail", _("By mail")
    IMPORT = "import", _("Bulk import from an existing ledger")
    # A dependent's number, verified by the employee who declared them (domain R23).
    BY_EMPLOYEE = "by_employee", _("Verified by the employee")


class NumberRecord(models.Model):
    """One person's number: ciphertext, keyed index, status and verification record."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    person = models.OneToOneField(
        "people.Person", on_delete=models.PROTECT, related_name="number_record"
    )
    ciphertext = models.BinaryField(null=True)
    # HMAC of the number under the company's index key: duplicate detection only (domain R12).
    number_index = models.BinaryField(max_length=32, null=True)
    status = models.CharField(max_length=16, choices=NumberStatus.choices)
    channel = models.CharField(max_length=16, choices=VerificationChannel.choices)
    document_kinds = models.JSONField(default=list, blank=True)
    verified_on = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # 身元確認 skipped because the employee is known in person (domain R21).
    identity_exemption = models.BooleanField(default=False)
    # Disposal (廃棄, domain R5, R6): the day the number was destroyed and the certificate that
    # says so; the rest of the record stays.
    disposed_on = models.DateField(null=True, blank=True)
    # db_default: the bulk import's plain INSERTs (fastinsert) name only the columns they fill.
    certificate_number = models.CharField(max_length=32, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number_index"], name="unique_number_per_company"
            )
        ]

    def __repr__(self) -> str:
        # Never the ciphertext or the index in a repr that may reach a log.
        return f"<NumberRecord person={self.person_id} status={self.status}>"


def has_active_number(person: Any) -> bool:
    """Whether a number is stored (active) for ``person``: the one check that decides who
    still needs collecting and what must never be replaced silently."""
    return NumberRecord.objects.filter(person=person, status=NumberStatus.ACTIVE).exists()


class DataKey(models.Model):
    """A person's data key (DEK), wrapped by the KEK named in ``kek_id``. Deleting the row is
    crypto-shredding: every copy of the ciphertext, backups included, becomes unreadable.
    Found by the person's random ``key_ref`` (see ``datakeys.dek_for``)."""

    ref = models.CharField(max_length=32, unique=True)
    company_id = models.BigIntegerField()
    person_id = models.BigIntegerField(db_index=True)
    kek_id = models.CharField(max_length=16, db_index=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True)

    def __repr__(self) -> str:
        return f"<DataKey person={self.person_id} kek={self.kek_id}>"


class KeyStoreState(models.Model):
    """One row in the key store: the KEK new data keys are wrapped under. Writers lock it in
    their key-store transaction; rotation switches it (``datakeys``, ``rotation``)."""

    active_kek_id = models.CharField(max_length=16)


class DisposalJournal(models.Model):
    """One disposal, written in the key-store transaction that destroys its keys: the record a
    restore of an older data backup re-applies, so a number disposed after the backup stays
    disposed (issue 13). Ids and the certificate number only, never a name or a number."""

    batch_id = models.BigIntegerField()
    company_id = models.BigIntegerField()
    certificate_number = models.CharField(max_length=32)
    person_ids = models.JSONField()
    disposed_at = models.DateTimeField()

    def __repr__(self) -> str:
        return f"<DisposalJournal batch={self.batch_id} people={len(self.person_ids)}>"
