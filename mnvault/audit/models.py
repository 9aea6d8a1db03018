"""The append-only, hash-chained audit log (docs/architecture.md, "Audit log").

Ids of companies and people are plain integers, not foreign keys: the log outlives the rows it
speaks of, and must never be rewritten by a cascade.
"""

from __future__ import annotations

from django.db import models

GENESIS_HASH = "0" * 64


class Outcome(models.TextChoices):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


class AuditEntry(models.Model):
    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16)
    actor_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=150)
    company_id = models.BigIntegerField(null=True, db_index=True)
    person_id = models.BigIntegerField(null=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    # HMAC-SHA256 of (seq, entry_hash) under a key derived from the signing key, written with
    # the entry: re-hashing the chain without that key is caught at the very next entry, not
    # only at the next checkpoint (``audit.signing.mac``). Empty only for entries written
    # before entries had one, which a signed checkpoint must then cover.
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["seq"]
        # The vault's hourly limits count recent reveals and exports per actor and per company.
        indexes = [
            models.Index(fields=["actor_id", "action", "created_at"], name="audit_actor_action_at"),
            models.Index(
                fields=["company_id", "action", "created_at"], name="audit_company_action_at"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"


class AuditHead(models.Model):
    """One row, locked by every append: the serialisation point of the chain on PostgreSQL
    (SQLite serialises through its IMMEDIATE write transaction)."""

    seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)


class AuditCheckpoint(models.Model):
    """A signed statement of the chain head and entry count (Ed25519, key outside the
    database), so a consistently rewritten or truncated chain is caught."""

    seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    public_key = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # The checkpoint file the line was appended to, named by its genesis line (see
    # ``audit.checkpoints``); empty for rows written before files were named.
    file_id = models.CharField(max_length=32, blank=True, default="")
