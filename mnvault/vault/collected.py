"""The vault core's side of collection (取得): sealing what a person submits through an
invitation, opening identity-document photos for the handler, and turning an approved
submission into stored numbers.

The person's number and their dependents' numbers are sealed under the person's DEK; the
document photos under a key of their own in the key store, so that destroying that one key
destroys the photos for good (backups of the data included) while the number stays.
Every function writes its audit entry in the transaction of its action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.log import Actor
from mnvault.audit.models import Outcome
from mnvault.collection.models import (
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
    SubmittedDependent,
)
from mnvault.companies.models import Company
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.people.models import Person, PersonKind
from mnvault.vault import crypto, datakeys, identity
from mnvault.vault.access import Operation, decide, kinds_in_scope
from mnvault.vault.errors import Refused, VaultError
from mnvault.vault.models import VerificationChannel, has_active_number
from mnvault.vault.services import (
    Verification,
    _audit,
    _failures_audited,
    as_actor,
    vault_transaction,
    write_number,
)

# Purposes a dependent's number, verified by the employee, may serve: the withholding
# declaration (扶養控除等申告書) and the health-insurance dependant filings (domain R11,
# R23). Not the 国民年金第3号被保険者届: for it the employer verifies the spouse itself (R23).
DEPENDENT_PURPOSES = frozenset({Purpose.WITHHOLDING, Purpose.SOCIAL_INSURANCE})
# What one invitation may bring: enough for any R20 combination and any family, no more.
MAX_DOCUMENTS = 8
MAX_DEPENDENTS = 20


class InvitationClosed(VaultError):
    code = "invitation_closed"
    message = (
        "この招待は使えません (使用済み・期限切れ・取消し) / "
        "this invitation can no longer be used (used, expired or withdrawn)"
    )


class TooMany(VaultError):
    code = "too_many"
    message = "これ以上追加できません / no more can be added"


class AlreadyStored(VaultError):
    code = "already_stored"
    message = (
        "この人の番号は既に保管されています。置き換えは対面で行ってください / "
        "a number is already stored for this person: replace it in person"
    )


class NotSubmitted(VaultError):
    code = "not_submitted"
    message = "この提出は確認待ちではありません / this submission is not awaiting review"


def _field(submission_ref: str, name: str) -> str:
    return f"submission:{submission_ref}:{name}"


def _open_invitation(invitation: Invitation) -> Invitation:
    """The invitation, locked, if it may still be used; checked inside the transaction so that
    a link used, withdrawn or expired a moment ago changes nothing."""
    fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if fresh.used_at or fresh.revoked_at or fresh.expires_at <= timezone.now():
        raise InvitationClosed()
    return fresh


def _draft(invitation: Invitation) -> Submission:
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
    **detail,
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


@sensitive_variables("number", "normalised", "dek")
def enter_number(*, invitation: Invitation, number: str, client_address: str = "") -> Submission:
    """The person's own number, entered through their invitation: validated, sealed into the
    draft submission. Entering it again replaces it."""
    normalised = numbers.validate(number)
    with vault_transaction():
        invitation = _open_invitation(invitation)
        submission = _draft(invitation)
        person = Person.objects.get(pk=invitation.person_id)
        dek = datakeys.dek_for(person, create=True)
        aad = crypto.field_aad(person.company_id, person.pk, _field(submission.ref, "number"))
        submission.number_ciphertext = crypto.seal(dek, normalised.encode("ascii"), aad)
        submission.save(update_fields=["number_ciphertext"])
        record_invitee(invitation, "collection.number_entered", client_address)
    return submission


@dataclass(frozen=True)
class DependentDetails:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    relationship: str
    birth_date: date


@sensitive_variables("number", "normalised", "dek")
def add_dependent(
    *, invitation: Invitation, details: DependentDetails, number: str, client_address: str = ""
) -> SubmittedDependent:
    """A dependent declared by the employee, their number sealed under the employee's key
    until the handler approves (then it moves under the dependent's own key)."""
    normalised = numbers.validate(number)
    with vault_transaction():
        invitation = _open_invitation(invitation)
        submission = _draft(invitation)
        person = Person.objects.get(pk=invitation.person_id)
        if person.kind != PersonKind.EMPLOYEE:
            raise VaultError(
                "扶養親族は従業員だけが登録できます / only employees declare dependents",
                code="not_employee",
            )
        if SubmittedDependent.objects.filter(submission=submission).count() >= MAX_DEPENDENTS:
            raise TooMany()
        dependent = SubmittedDependent(submission=submission, **details.__dict__)
        dek = datakeys.dek_for(person, create=True)
        aad = crypto.field_aad(
            person.company_id, person.pk, _field(submission.ref, f"dependent:{dependent.ref}")
        )
        dependent.number_ciphertext = crypto.seal(dek, normalised.encode("ascii"), aad)
        dependent.save(force_insert=True)
        record_invitee(invitation, "collection.dependent_added", client_address)
    return dependent


def remove_dependent(
    *, invitation: Invitation, dependent_id: int, client_address: str = ""
) -> None:
    with vault_transaction():
        invitation = _open_invitation(invitation)
        submission = _draft(invitation)
        deleted, _ = SubmittedDependent.objects.filter(
            pk=dependent_id, submission=submission
        ).delete()
        if deleted:
            record_invitee(invitation, "collection.dependent_removed", client_address)


@sensitive_variables("content", "key")
def add_document(
    *,
    invitation: Invitation,
    kind: str,
    content: bytes,
    content_type: str,
    client_address: str = "",
) -> IdentityDocument:
    """A cleaned identity-document file, sealed under the submission's document key before
    it is stored anywhere."""
    with vault_transaction():
        invitation = _open_invitation(invitation)
        submission = _draft(invitation)
        if IdentityDocument.objects.filter(submission=submission).count() >= MAX_DOCUMENTS:
            raise TooMany()
        person = Person.objects.get(pk=invitation.person_id)
        key = datakeys.key_for(submission.document_key_ref, person, create=True)
        document = IdentityDocument(
            submission=submission, kind=kind, content_type=content_type, size=len(content)
        )
        aad = crypto.field_aad(person.company_id, person.pk, f"document:{document.ref}")
        document.ciphertext = crypto.seal(key, content, aad)
        document.save(force_insert=True)
        record_invitee(
            invitation, "collection.document_added", client_address, document=document.pk
        )
    return document


def remove_document(*, invitation: Invitation, document_id: int, client_address: str = "") -> None:
    with vault_transaction():
        invitation = _open_invitation(invitation)
        submission = _draft(invitation)
        deleted, _ = IdentityDocument.objects.filter(pk=document_id, submission=submission).delete()
        if deleted:
            record_invitee(invitation, "collection.document_removed", client_address)


def _refuse(actor: Actor, company: Company, person: Person, decision, action, **extra) -> None:
    with transaction.atomic(durable=True):
        _audit(actor, action, company, decision, person_id=person.pk, **extra)
    raise Refused(decision.message, code=decision.reason)


@sensitive_variables("content", "key")
def open_document(
    *, acting_user: User | Actor, document: IdentityDocument, client_address: str = ""
) -> bytes:
    """A document photo in clear, for the handler who reviews it; every view is audited."""
    actor = as_actor(acting_user)
    submission = Submission.objects.get(pk=document.submission_id)
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    extra = {"client_address": client_address, "detail": {"document": document.pk}}
    decision = decide(actor, company, Operation.REVIEW, person=person)
    if not decision.allowed:
        _refuse(actor, company, person, decision, "collection.document_view", **extra)
    if submission.status not in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED):
        raise NotSubmitted()  # a draft is the person's until handed in; sent back is gone
    with (
        _failures_audited(actor, "collection.document_view", company, person_id=person.pk),
        vault_transaction(),
    ):
        document = IdentityDocument.objects.get(pk=document.pk)
        key = datakeys.key_for(submission.document_key_ref, person, create=False)
        aad = crypto.field_aad(company.pk, person.pk, f"document:{document.ref}")
        content = crypto.open_sealed(key, document.ciphertext, aad)
        _audit(actor, "collection.document_view", company, decision, person_id=person.pk, **extra)
    return content


def _check_scope(actor: Actor, company: Company, person: Person, submission, action, extra):
    decision = decide(actor, company, Operation.REVIEW, person=person)
    if decision.allowed and submission.dependents.exists():
        scope = kinds_in_scope(actor, company, Operation.REVIEW)
        if scope is not None and PersonKind.DEPENDENT not in scope:
            decision = decide(
                actor,
                company,
                Operation.REVIEW,
                person=Person(company_id=company.pk, kind=PersonKind.DEPENDENT),
            )
    if not decision.allowed:
        _refuse(actor, company, person, decision, action, **extra)
    return decision


def _locked_submitted(submission: Submission) -> Submission:
    fresh = Submission.objects.select_for_update().get(pk=submission.pk)
    if fresh.status != SubmissionStatus.SUBMITTED:
        raise NotSubmitted()
    return fresh


@sensitive_variables("number", "dek")
def _open_number(person: Person, submission: Submission, name: str, blob) -> str:
    if blob is None:
        raise VaultError("番号が入力されていません / no number was entered", code="no_number")
    dek = datakeys.dek_for(person, create=False)
    aad = crypto.field_aad(person.company_id, person.pk, _field(submission.ref, name))
    return crypto.open_sealed(dek, blob, aad).decode("ascii")


def approve(
    *,
    acting_user: User | Actor,
    submission: Submission,
    document_kinds: Sequence[str],
    retention_days: int,
    client_address: str = "",
) -> None:
    """The handler checked the documents against the entered details (本人確認, domain R20):
    the number becomes active with its verification record (R24), each declared dependent
    gets a record of their own with their number (verified by the employee, R23), and the
    photos are destroyed now or kept ``retention_days``."""
    actor = as_actor(acting_user)
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    extra = {"client_address": client_address}
    _check_scope(actor, company, person, submission, "collection.approve", extra)
    problem = identity.combination_problem(document_kinds, identity_exemption=False)
    if problem:
        raise VaultError(problem, code="documents")
    with (
        _failures_audited(actor, "collection.approve", company, person_id=person.pk, **extra),
        vault_transaction(),
    ):
        submission = _locked_submitted(submission)
        _check_approvable(person, submission, document_kinds)
        now = timezone.now()
        verification = Verification(
            channel=VerificationChannel.ONLINE,
            document_kinds=tuple(document_kinds),
            verified_on=timezone.localdate(),
            verified_by=actor.user,
        )
        number = _open_number(person, submission, "number", submission.number_ciphertext)
        _store(actor, person, number, submission.purposes, verification, submission, extra)
        created = _store_dependents(actor, company, person, submission, extra)
        submission.status = SubmissionStatus.APPROVED
        submission.document_kinds = list(document_kinds)
        submission.reviewed_by, submission.reviewed_at = actor.user, now
        submission.number_ciphertext = None
        submission.documents_expire_at = now + timezone.timedelta(days=retention_days)
        submission.save()
        audit.record(
            actor=actor,
            action="collection.approve",
            company_id=company.pk,
            person_id=person.pk,
            detail={"submission": submission.pk, "dependents": created},
            **extra,
        )
        if retention_days == 0:
            _destroy_documents(actor, submission, "approved")


@sensitive_variables("number")
def _store(actor, person, number, purposes, verification, submission, extra) -> None:
    """One number of an approved submission, stored with its own audit entry."""
    company = Company.objects.get(pk=person.company_id)
    write_number(person, company, number, purposes, verification)
    audit.record(
        actor=actor,
        action=Operation.STORE,
        company_id=company.pk,
        person_id=person.pk,
        detail={"channel": verification.channel, "submission": submission.pk},
        **extra,
    )


def _check_approvable(person: Person, submission: Submission, kinds: Sequence[str]) -> None:
    """Inside the approval's transaction: the documents ticked were uploaded (the record must
    say what was really seen, R24), no number was stored for the person meanwhile (in person
    or by import: never replaced silently), and each dependent has a purpose to be held for."""
    uploaded = set(
        IdentityDocument.objects.filter(submission=submission).values_list("kind", flat=True)
    )
    if not set(kinds) <= uploaded:
        raise VaultError(
            "提出されていない書類が選ばれています / a document was ticked that was not uploaded",
            code="documents_not_uploaded",
        )
    if has_active_number(person):
        raise AlreadyStored()
    declared = SubmittedDependent.objects.filter(submission=submission).exists()
    if declared and not set(submission.purposes) & DEPENDENT_PURPOSES:
        raise VaultError(
            "扶養親族の番号を保管する利用目的がありません / "
            "no purpose notified for which dependents' numbers may be kept",
            code="no_dependent_purpose",
        )


def _dependent_person(company: Company, employee: Person, declared: SubmittedDependent) -> Person:
    """The employee's dependent of that name and birth date, if already on record (then
    without a stored number, or the approval stops), else a new one."""
    same = Person.objects.filter(
        company=company,
        kind=PersonKind.DEPENDENT,
        employee=employee,
        family_name=declared.family_name,
        given_name=declared.given_name,
        birth_date=declared.birth_date,
    ).first()
    if same is not None:
        if has_active_number(same):
            raise AlreadyStored()
        return same
    return Person.objects.create(
        company=company,
        kind=PersonKind.DEPENDENT,
        employee=employee,
        relationship=declared.relationship,
        family_name=declared.family_name,
        given_name=declared.given_name,
        family_name_kana=declared.family_name_kana,
        given_name_kana=declared.given_name_kana,
        birth_date=declared.birth_date,
    )


def _store_dependents(actor, company, person, submission, extra) -> int:
    purposes = [p for p in submission.purposes if p in DEPENDENT_PURPOSES]
    verified_on = (submission.submitted_at or timezone.now()).date()
    count = 0
    for declared in SubmittedDependent.objects.filter(submission=submission).order_by("pk"):
        number = _open_number(
            person, submission, f"dependent:{declared.ref}", declared.number_ciphertext
        )
        dependent = _dependent_person(company, person, declared)
        verification = Verification(
            channel=VerificationChannel.BY_EMPLOYEE, verified_on=verified_on
        )
        _store(actor, dependent, number, purposes, verification, submission, extra)
        declared.person, declared.number_ciphertext = dependent, None
        declared.save(update_fields=["person", "number_ciphertext"])
        count += 1
    return count


def send_back(
    *, acting_user: User | Actor, submission: Submission, reason: str, client_address: str = ""
) -> None:
    """Refuse a submission with a reason: nothing of it is kept (numbers and photos go), and
    the caller sends the person a new invitation."""
    actor = as_actor(acting_user)
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    extra = {"client_address": client_address}
    _check_scope(actor, company, person, submission, "collection.send_back", extra)
    with (
        _failures_audited(actor, "collection.send_back", company, person_id=person.pk, **extra),
        vault_transaction(),
    ):
        submission = _locked_submitted(submission)
        submission.status = SubmissionStatus.SENT_BACK
        submission.send_back_reason = reason
        submission.reviewed_by, submission.reviewed_at = actor.user, timezone.now()
        submission.number_ciphertext = None
        submission.save()
        SubmittedDependent.objects.filter(submission=submission).update(number_ciphertext=None)
        audit.record(
            actor=actor,
            action="collection.send_back",
            company_id=company.pk,
            person_id=person.pk,
            detail={"submission": submission.pk},
            **extra,
        )
        _destroy_documents(actor, submission, "sent_back")


def _destroy_documents(actor: Actor, submission: Submission, reason: str) -> int:
    """Inside a vault transaction: delete the photos and shred their key."""
    count, _ = IdentityDocument.objects.filter(submission=submission).delete()
    # The key goes once the rows are gone for sure: the key store commits before the data,
    # so destroying it inside this transaction could leave photos that nothing opens if the
    # data then failed to commit. A crash in between leaves a key to no data, which the
    # scheduled clean-up (collection.reminders) destroys.
    ref = submission.document_key_ref
    transaction.on_commit(lambda: destroy_document_key(ref))
    Submission.objects.filter(pk=submission.pk).update(documents_destroyed_at=timezone.now())
    audit.record(
        actor=actor,
        action="collection.documents_destroyed",
        outcome=Outcome.OK,
        reason=reason,
        company_id=submission.company_id,
        person_id=submission.person_id,
        detail={"submission": submission.pk, "documents": count},
    )
    return count


def destroy_document_key(ref: str) -> bool:
    with datakeys.key_store_atomic(durable=True):
        return datakeys.destroy_key(ref)


def destroy_documents(*, actor: Actor, submission: Submission, reason: str) -> int:
    """Destroy a submission's photos for good (retention ended, or an abandoned draft)."""
    with vault_transaction():
        return _destroy_documents(actor, submission, reason)


def discard_draft(*, actor: Actor, submission: Submission) -> None:
    """An invitation expired or was withdrawn with a draft behind it: nothing of it is kept."""
    with vault_transaction():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        if fresh.status != SubmissionStatus.DRAFT:
            return
        SubmittedDependent.objects.filter(submission=fresh).delete()
        Submission.objects.filter(pk=fresh.pk).update(number_ciphertext=None)
        _destroy_documents(actor, fresh, "draft_discarded")


@dataclass(frozen=True)
class SubmittedNumbers:
    number: str
    dependents: dict[int, str]


@sensitive_variables("number", "dependents")
def open_submitted_numbers(
    *, acting_user: User | Actor, submission: Submission, client_address: str = ""
) -> SubmittedNumbers:
    """The numbers a person entered, for the handler who compares them with the documents
    (本人確認): an authorised reveal for the acquisition itself, audited."""
    actor = as_actor(acting_user)
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    extra = {"client_address": client_address, "detail": {"submission": submission.pk}}
    _check_scope(actor, company, person, submission, "collection.review_numbers", extra)
    with (
        _failures_audited(actor, "collection.review_numbers", company, person_id=person.pk),
        vault_transaction(),
    ):
        submission = _locked_submitted(submission)
        number = _open_number(person, submission, "number", submission.number_ciphertext)
        dependents = {
            d.pk: _open_number(person, submission, f"dependent:{d.ref}", d.number_ciphertext)
            for d in SubmittedDependent.objects.filter(submission=submission)
        }
        audit.record(
            actor=actor,
            action="collection.review_numbers",
            company_id=company.pk,
            person_id=person.pk,
            **extra,
        )
    return SubmittedNumbers(number, dependents)
