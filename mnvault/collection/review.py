"""The handler's side of collection: look at what a person submitted (their numbers and
identity-document photos, each opening audited), approve it — the numbers become stored
numbers with their verification record (domain R20, R24) — or send it back with a reason and a
new invitation. Every step runs through the vault API's ``decide_audit_act``."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.collection import dependent_changes, invitations, photos
from mnvault.collection.errors import AlreadyStored, DependentAlreadyStored, NotSubmitted
from mnvault.collection.invitations import InviteResult
from mnvault.collection.models import (
    DependentChange,
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
    SubmittedDependent,
)
from mnvault.companies.models import Company
from mnvault.domain import identity
from mnvault.people.models import Person, PersonKind
from mnvault.people.purposes import DEPENDENT_PURPOSES
from mnvault.vault import api
from mnvault.vault.access import Operation
from mnvault.vault.errors import VaultError
from mnvault.vault.models import VerificationChannel, has_active_number
from mnvault.vault.services import Verification, as_actor, write_number


def queue(company: Company) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(company=company, status=SubmissionStatus.SUBMITTED)
        .select_related("person")
        .order_by("submitted_at", "pk")
    )


def _reviewing(
    acting_user: User | Actor,
    submission: Submission,
    action: str,
    client_address: str,
    detail: dict[str, Any] | None = None,
) -> AbstractContextManager[api.Act]:
    """Review needs the person in the actor's scope, and dependents too when some were
    declared (domain R1)."""
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    declared = (
        SubmittedDependent.objects.filter(submission=submission).exists()
        or DependentChange.objects.filter(submission=submission).exists()
    )
    return api.decide_audit_act(
        actor=as_actor(acting_user),
        company=company,
        operation=Operation.REVIEW,
        person=person,
        also_for=[Person(company_id=company.pk, kind=PersonKind.DEPENDENT)] if declared else [],
        action=action,
        client_address=client_address,
        detail=detail,
    )


def _locked_submitted(submission: Submission) -> Submission:
    fresh = Submission.objects.select_for_update().get(pk=submission.pk)
    if fresh.status != SubmissionStatus.SUBMITTED:
        raise NotSubmitted()
    return fresh


@sensitive_variables("number")
def _open_submitted(person: Person, field: str, blob: bytes | memoryview | None) -> str:
    if blob is None:
        raise VaultError(_("No number was entered."), code="no_number")
    return api.open_number(person, field, blob)


def dependents_only(submission: Submission) -> bool:
    """Whether the submission came through an invitation for dependents only."""
    return Invitation.objects.filter(
        pk=submission.invitation_id, scope=Invitation.Scope.DEPENDENTS
    ).exists()


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
    detail = {"submission": submission.pk}
    with _reviewing(
        acting_user, submission, Action.COLLECTION_REVIEW_NUMBERS, client_address, detail
    ) as act:
        person = act.subject
        submission = _locked_submitted(submission)
        number = (
            ""  # an invitation for dependents only asks for no own number
            if dependents_only(submission)
            else _open_submitted(
                person, api.Field.submitted_number(submission.ref), submission.number_ciphertext
            )
        )
        dependents = {
            d.pk: _open_submitted(
                person,
                api.Field.submitted_dependent(submission.ref, d.ref),
                d.number_ciphertext,
            )
            for d in SubmittedDependent.objects.filter(submission=submission)
        }
    return SubmittedNumbers(number, dependents)


@sensitive_variables("content")
def open_document(
    *, acting_user: User | Actor, document: IdentityDocument, client_address: str = ""
) -> bytes:
    """A document photo in clear, for the handler who reviews it; every view is audited."""
    submission = Submission.objects.get(pk=document.submission_id)
    detail = {"document": document.pk}
    with _reviewing(
        acting_user, submission, Action.COLLECTION_DOCUMENT_VIEW, client_address, detail
    ) as act:
        if submission.status not in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED):
            raise NotSubmitted()  # a draft is the person's until handed in; sent back is gone
        document = IdentityDocument.objects.get(pk=document.pk)
        content = api.open_field(
            act.subject,
            api.Field.document(document.ref),
            document.ciphertext,
            key_ref=submission.document_key_ref,
        )
    return content


def approve(
    *,
    acting_user: User | Actor,
    submission: Submission,
    document_kinds: Sequence[str],
    client_address: str = "",
) -> None:
    """The handler checked the documents against the entered details (本人確認, domain R20):
    the number becomes active with its verification record (R24), each declared dependent
    gets a record of their own with their number (verified by the employee, R23), and the
    photos are destroyed now or kept as long as the company's collection settings say."""
    company = Company.objects.get(pk=submission.company_id)
    retention_days = invitations.settings_of(company).document_retention_days
    only_dependents = dependents_only(submission)
    if only_dependents:
        # The employee's own identity was checked when their number was stored; the
        # dependents are verified by the employee (R23): no document is ticked here.
        document_kinds, problem = (), ""
    else:
        problem = identity.combination_problem(document_kinds, identity_exemption=False)
    with _reviewing(acting_user, submission, Action.COLLECTION_APPROVE, client_address) as act:
        if problem:
            raise VaultError(problem, code="documents")
        person = act.subject
        submission = _locked_submitted(submission)
        if only_dependents:
            _check_dependents_approvable(person, submission)
            created = _store_dependents(act, person, submission)
            changed = dependent_changes.apply(act, submission)
            submission.status = SubmissionStatus.APPROVED
            submission.reviewed_by, submission.reviewed_at = act.actor.user, timezone.now()
            submission.save()
            act.detail.update(
                submission=submission.pk, dependents=created, changes=changed, scope="dependents"
            )
            act.audit_now()
            return
        _check_approvable(person, submission, document_kinds)
        now = timezone.now()
        verification = Verification(
            channel=VerificationChannel.ONLINE,
            document_kinds=tuple(document_kinds),
            verified_on=timezone.localdate(),
            verified_by=act.actor.user,
        )
        number = _open_submitted(
            person, api.Field.submitted_number(submission.ref), submission.number_ciphertext
        )
        _store(act, person, number, submission.purposes, verification, submission)
        created = _store_dependents(act, person, submission)
        submission.status = SubmissionStatus.APPROVED
        submission.document_kinds = list(document_kinds)
        submission.reviewed_by, submission.reviewed_at = act.actor.user, now
        submission.number_ciphertext = None
        submission.documents_expire_at = now + timedelta(days=retention_days)
        submission.save()
        act.detail.update(submission=submission.pk, dependents=created)
        act.audit_now()
        if retention_days == 0:
            photos.destroy_in_transaction(act.actor, submission, "approved")


@sensitive_variables("number")
def _store(
    act: api.Act,
    person: Person,
    number: str,
    purposes: Sequence[str],
    verification: Verification,
    submission: Submission,
) -> None:
    """One number of an approved submission, stored with its own audit entry."""
    write_number(person, act.company, number, purposes, verification)
    audit.record(
        actor=act.actor,
        action=Action.NUMBER_STORE,
        company_id=act.company.pk,
        person_id=person.pk,
        detail={"channel": verification.channel, "submission": submission.pk},
        client_address=act.client_address,
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
            _("A document was ticked that was not uploaded."),
            code="documents_not_uploaded",
        )
    if has_active_number(person):
        raise AlreadyStored()
    declared = SubmittedDependent.objects.filter(submission=submission).exists()
    if declared and not set(submission.purposes) & DEPENDENT_PURPOSES:
        raise VaultError(
            _("No purpose notified for which dependents' numbers may be kept."),
            code="no_dependent_purpose",
        )


def _check_dependents_approvable(person: Person, submission: Submission) -> None:
    """For a submission of dependents only: the employee's number is still stored (it is
    what made the registration skip it), and there is a purpose to hold new dependents for
    (changes to those on record store no number)."""
    if not has_active_number(person):
        raise VaultError(_("No number is stored for the employee."), code="not_stored")
    declared = SubmittedDependent.objects.filter(submission=submission).exists()
    if declared and not set(submission.purposes) & DEPENDENT_PURPOSES:
        raise VaultError(
            _("No purpose notified for which dependents' numbers may be kept."),
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
            raise DependentAlreadyStored()
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


def _store_dependents(act: api.Act, person: Person, submission: Submission) -> int:
    purposes = [p for p in submission.purposes if p in DEPENDENT_PURPOSES]
    verified_on = (submission.submitted_at or timezone.now()).date()
    count = 0
    for declared in SubmittedDependent.objects.filter(submission=submission).order_by("pk"):
        number = _open_submitted(
            person,
            api.Field.submitted_dependent(submission.ref, declared.ref),
            declared.number_ciphertext,
        )
        dependent = _dependent_person(act.company, person, declared)
        verification = Verification(
            channel=VerificationChannel.BY_EMPLOYEE, verified_on=verified_on
        )
        _store(act, dependent, number, purposes, verification, submission)
        declared.person, declared.number_ciphertext = dependent, None
        declared.save(update_fields=["person", "number_ciphertext"])
        count += 1
    return count


def send_back(
    *, acting_user: User, submission: Submission, reason: str, client_address: str = ""
) -> InviteResult:
    """Refuse a submission with a reason: nothing of it is kept (numbers and photos go); then
    invite again the way the person was invited before (an e-mail, or a sheet to print that
    the caller shows)."""
    with _reviewing(acting_user, submission, Action.COLLECTION_SEND_BACK, client_address) as act:
        submission = _locked_submitted(submission)
        submission.status = SubmissionStatus.SENT_BACK
        submission.send_back_reason = reason
        submission.reviewed_by, submission.reviewed_at = act.actor.user, timezone.now()
        submission.number_ciphertext = None
        submission.save()
        SubmittedDependent.objects.filter(submission=submission).update(number_ciphertext=None)
        act.detail.update(submission=submission.pk)
        act.audit_now()
        photos.destroy_in_transaction(act.actor, submission, "sent_back")
    previous = Invitation.objects.get(pk=submission.invitation_id)
    person = Person.objects.get(pk=submission.person_id)
    delivery = previous.delivery if person.email else Invitation.Delivery.PRINT
    if previous.dependents_only:
        return invitations.invite_for_dependents(
            acting_user=acting_user,
            person=person,
            delivery=delivery,
            client_address=client_address,
            follows_send_back=True,
        )
    return invitations.invite(
        acting_user=acting_user,
        company=act.company,
        people=[person],
        delivery=delivery,
        client_address=client_address,
        follows_send_back=True,
    )
