"""The person's side of collection (取得): what they submit through their invitation is
sealed into a draft — their number and their dependents' numbers under their own DEK, their
identity-document photos under the submission's document key — through the vault API.
Every function writes its audit entry in the transaction of its action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.collection import photos
from mnvault.collection.errors import InvitationClosed, TooMany
from mnvault.collection.models import (
    DependentChange,
    DocumentSide,
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
    SubmittedDependent,
)
from mnvault.domain import numbers
from mnvault.people.models import Person, PersonKind
from mnvault.vault import api
from mnvault.vault.errors import VaultError
from mnvault.vault.models import DocumentKind

# What one invitation may bring: enough for any R20 combination and any family, no more.
MAX_DOCUMENTS = 8
MAX_DEPENDENTS = 20


def open_invitation(invitation: Invitation) -> Invitation:
    """The invitation, locked, if it may still be used; checked inside the transaction so that
    a link used, withdrawn or expired a moment ago changes nothing."""
    fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if fresh.used_at or fresh.revoked_at or fresh.expires_at <= timezone.now():
        raise InvitationClosed()
    return fresh


def open_draft(invitation: Invitation) -> Submission:
    submission, _ = Submission.objects.get_or_create(
        invitation=invitation,
        defaults={
            "company_id": invitation.company_id,
            "person_id": invitation.person_id,
            "purposes": invitation.purposes,
        },
    )
    if submission.status != SubmissionStatus.DRAFT:
        raise InvitationClosed()
    return submission


def record_invitee(
    invitation: Invitation,
    action: str,
    client_address: str,
    *,
    outcome: str = Outcome.OK,
    reason: str = "",
    **detail: Any,
) -> None:
    """The audit entry of something the invited person did (or was refused), inside the
    caller's transaction."""
    audit.record(
        actor=Actor.invitee(invitation.pk),
        action=action,
        outcome=outcome,
        reason=reason,
        company_id=invitation.company_id,
        person_id=invitation.person_id,
        client_address=client_address,
        detail=detail,
    )


@sensitive_variables("number", "normalised")
def enter_number(*, invitation: Invitation, number: str, client_address: str = "") -> Submission:
    """The person's own number, entered through their invitation: validated, sealed into the
    draft submission. Entering it again replaces it."""
    normalised = numbers.validate(number)
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        person = Person.objects.get(pk=invitation.person_id)
        field = api.Field.submitted_number(submission.ref)
        submission.number_ciphertext = api.seal_number(person, field, normalised)
        submission.save(update_fields=["number_ciphertext"])
        record_invitee(invitation, Action.COLLECTION_NUMBER_ENTERED, client_address)
    return submission


@dataclass(frozen=True)
class DependentDetails:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    relationship: str
    birth_date: date


@sensitive_variables("number", "normalised")
def add_dependent(
    *, invitation: Invitation, details: DependentDetails, number: str, client_address: str = ""
) -> SubmittedDependent:
    """A dependent declared by the employee, their number sealed under the employee's key
    until the handler approves (then it moves under the dependent's own key)."""
    normalised = numbers.validate(number)
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        person = Person.objects.get(pk=invitation.person_id)
        if person.kind != PersonKind.EMPLOYEE:
            raise VaultError(
                _("Only employees declare dependents."),
                code="not_employee",
            )
        if SubmittedDependent.objects.filter(submission=submission).count() >= MAX_DEPENDENTS:
            raise TooMany()
        dependent = SubmittedDependent(submission=submission, **details.__dict__)
        field = api.Field.submitted_dependent(submission.ref, dependent.ref)
        dependent.number_ciphertext = api.seal_number(person, field, normalised)
        dependent.save(force_insert=True)
        record_invitee(invitation, Action.COLLECTION_DEPENDENT_ADDED, client_address)
    return dependent


def remove_dependent(
    *, invitation: Invitation, dependent_id: int, client_address: str = ""
) -> None:
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        deleted, _ = SubmittedDependent.objects.filter(
            pk=dependent_id, submission=submission
        ).delete()
        if deleted:
            record_invitee(invitation, Action.COLLECTION_DEPENDENT_REMOVED, client_address)


def _side(submission: Submission, kind: str, side: str) -> str:
    if kind != DocumentKind.MY_NUMBER_CARD:
        return ""
    if side in DocumentSide.values:
        return side
    have = set(
        IdentityDocument.objects.filter(submission=submission, kind=kind).values_list(
            "side", flat=True
        )
    )
    return next((s for s in DocumentSide.values if s not in have), "")


@sensitive_variables("content")
def add_document(
    *,
    invitation: Invitation,
    kind: str,
    content: bytes,
    content_type: str,
    side: str = "",
    client_address: str = "",
) -> IdentityDocument:
    """A cleaned identity-document file, sealed under the submission's document key before
    it is stored anywhere. A photo of the My Number card says which side it shows; where the
    person did not say, it is the side still missing (the front first)."""
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        if IdentityDocument.objects.filter(submission=submission).count() >= MAX_DOCUMENTS:
            raise TooMany()
        person = Person.objects.get(pk=invitation.person_id)
        document = IdentityDocument(
            submission=submission,
            kind=kind,
            side=_side(submission, kind, side),
            content_type=content_type,
            size=len(content),
        )
        document.ciphertext = api.seal_field(
            person,
            api.Field.document(document.ref),
            content,
            key_ref=submission.document_key_ref,
        )
        document.save(force_insert=True)
        record_invitee(
            invitation, Action.COLLECTION_DOCUMENT_ADDED, client_address, document=document.pk
        )
    return document


def remove_document(*, invitation: Invitation, document_id: int, client_address: str = "") -> None:
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        deleted, _ = IdentityDocument.objects.filter(pk=document_id, submission=submission).delete()
        if deleted:
            record_invitee(invitation, Action.COLLECTION_DOCUMENT_REMOVED, client_address)


def discard_draft(*, actor: Actor, submission: Submission) -> None:
    """An invitation expired or was withdrawn with a draft behind it: nothing of it is kept."""
    with api.vault_transaction():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        if fresh.status != SubmissionStatus.DRAFT:
            return
        SubmittedDependent.objects.filter(submission=fresh).delete()
        DependentChange.objects.filter(submission=fresh).delete()
        Submission.objects.filter(pk=fresh.pk).update(number_ciphertext=None)
        photos.destroy_in_transaction(actor, fresh, "draft_discarded")
