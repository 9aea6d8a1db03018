"""Identity-document photos end for good: each submission's photos are sealed under a key of
their own in the key store (not the person's DEK), so destroying that one key destroys them,
backups of the data included, while the number stays."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.collection.models import IdentityDocument, Submission
from mnvault.vault import api


def destroy_in_transaction(actor: Actor, submission: Submission, reason: str) -> int:
    """Inside a vault transaction: delete the photos and shred their key."""
    count, _ = IdentityDocument.objects.filter(submission=submission).delete()
    # The key goes once the rows are gone for sure: the key store commits before the data,
    # so destroying it inside this transaction could leave photos that nothing opens if the
    # data then failed to commit. A crash in between leaves a key to no data, which the
    # scheduled clean-up (collection.reminders) destroys.
    ref = submission.document_key_ref
    transaction.on_commit(lambda: api.destroy_key(ref))
    Submission.objects.filter(pk=submission.pk).update(documents_destroyed_at=timezone.now())
    audit.record(
        actor=actor,
        action=Action.COLLECTION_DOCUMENTS_DESTROYED,
        outcome=Outcome.OK,
        reason=reason,
        company_id=submission.company_id,
        person_id=submission.person_id,
        detail={"submission": submission.pk, "documents": count},
    )
    return count


def destroy_documents(*, actor: Actor, submission: Submission, reason: str) -> int:
    """Destroy a submission's photos for good (retention ended, or an abandoned draft)."""
    with api.vault_transaction():
        return destroy_in_transaction(actor, submission, reason)
