"""Self-registration through an invitation, as a state machine the public pages drive: the
link's state, the identity check that the link alone does not pass (birth date, and a one-time
code by e-mail where the company asks for it), and the final, race-safe submission.

What the person enters (number, dependents, photos) is sealed through the vault API by
``mnvault.collection.drafts``; this module never sees a ciphertext opened.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.collection import invitations, mail
from mnvault.collection.drafts import record_invitee
from mnvault.collection.errors import InvitationClosed
from mnvault.collection.models import (
    DependentChange,
    DocumentSide,
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
    SubmittedDependent,
)
from mnvault.domain import identity
from mnvault.people.models import Person, PersonKind
from mnvault.vault.models import DocumentKind

MAX_FAILURES = 5  # wrong birth dates, or wrong codes, before the invitation is withdrawn
CODE_MINUTES = 10


class LinkState:
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def find(token: str) -> Invitation | None:
    if not token or len(token) > 100 or not token.isascii():
        return None
    return Invitation.objects.filter(token_hash=invitations.token_hash(token)).first()


def state_of(invitation: Invitation | None, now: datetime | None = None) -> str:
    if invitation is None:
        return LinkState.UNKNOWN
    if invitation.used_at:
        return LinkState.USED
    if invitation.revoked_at:
        return LinkState.REVOKED
    if invitation.expires_at <= (now or timezone.now()):
        return LinkState.EXPIRED
    return LinkState.OPEN


def reload(invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(pk=invitation_id).first()


def _refusal(invitation: Invitation, action: str, reason: str, client_address: str) -> None:
    record_invitee(invitation, action, client_address, outcome=Outcome.REFUSED, reason=reason)


def refuse(invitation: Invitation, action: str, reason: str, client_address: str) -> None:
    """Audit a refused input (a bad number, a bad file): nothing else is written."""
    with transaction.atomic():
        _refusal(invitation, action, reason, client_address)


def opened(invitation: Invitation, client_address: str) -> None:
    with transaction.atomic():
        record_invitee(invitation, Action.COLLECTION_LINK_OPENED, client_address)


def refuse_closed_link(invitation: Invitation, state: str, client_address: str) -> None:
    with transaction.atomic():
        _refusal(invitation, Action.COLLECTION_LINK_OPENED, f"link_{state}", client_address)


@contextmanager
def _identity_check(invitation: Invitation) -> Iterator[Invitation]:
    """The invitation, locked, for one identity check; closed links are refused."""
    with transaction.atomic():
        fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if state_of(fresh) != LinkState.OPEN:
            raise InvitationClosed()
        yield fresh


def _passed(invitation: Invitation, factor: str, client_address: str) -> bool:
    record_invitee(invitation, Action.COLLECTION_IDENTITY_CHECK, client_address, factor=factor)
    return True


def _failed(invitation: Invitation, counter: str, reason: str, client_address: str) -> bool:
    """Count and audit a miss; at the limit the invitation is withdrawn for good."""
    failures = getattr(invitation, counter) + 1
    setattr(invitation, counter, failures)
    invitation.save(update_fields=[counter])
    _refusal(invitation, Action.COLLECTION_IDENTITY_CHECK, reason, client_address)
    if failures >= MAX_FAILURES:
        invitations.withdraw(
            invitation, actor=Actor.invitee(invitation.pk), reason="too_many_attempts"
        )
    return False


def check_birth_date(invitation: Invitation, given: date, client_address: str) -> bool:
    """The birth date on file must match. Each miss is audited; after five the invitation is
    withdrawn and the person needs a new one from the office."""
    with _identity_check(invitation) as fresh:
        person = Person.objects.get(pk=fresh.person_id)
        if person.birth_date is not None and person.birth_date == given:
            return _passed(fresh, "birth_date", client_address)
        return _failed(fresh, "birth_date_failures", "wrong_birth_date", client_address)


def _code_hash(invitation: Invitation, code: str) -> str:
    return invitations.token_hash(f"{invitation.pk}:{invitation.token_hash}:{code}")


def send_code(invitation: Invitation) -> bool:
    """A six-digit one-time code to the invited address, valid ten minutes."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if state_of(fresh) != LinkState.OPEN or not fresh.email:
            return False
        fresh.email_code_hash = _code_hash(fresh, code)
        fresh.email_code_expires_at = timezone.now() + timedelta(minutes=CODE_MINUTES)
        fresh.save(update_fields=["email_code_hash", "email_code_expires_at"])
    try:
        mail.send(to=fresh.email, template="code", context={"code": code, "minutes": CODE_MINUTES})
    except (OSError, mail.MailRefused):
        return False
    return True


def check_code(invitation: Invitation, code: str, client_address: str) -> bool:
    with _identity_check(invitation) as fresh:
        live = fresh.email_code_expires_at and fresh.email_code_expires_at > timezone.now()
        expected = fresh.email_code_hash
        if live and expected and hmac.compare_digest(expected, _code_hash(fresh, code.strip())):
            fresh.email_code_hash = ""  # used once
            fresh.save(update_fields=["email_code_hash"])
            return _passed(fresh, "email_code", client_address)
        return _failed(fresh, "email_code_failures", "wrong_email_code", client_address)


def draft_of(invitation: Invitation) -> Submission | None:
    return Submission.objects.filter(invitation=invitation).first()


def documents_problem(documents: list[tuple[str, str]]) -> str:
    """What the uploaded photos, as (kind, side) pairs, still lack: an R20 combination, and
    both sides of the My Number card (the number is on the back, the photo on the front)."""
    kinds = [kind for kind, _side in documents]
    problem = identity.combination_problem(set(kinds), identity_exemption=False)
    if problem:
        return problem
    card_sides = [side for kind, side in documents if kind == DocumentKind.MY_NUMBER_CARD]
    if set(kinds) & identity.NUMBER_PROOFS == {DocumentKind.MY_NUMBER_CARD} and (
        len(card_sides) < 2 or set(card_sides) in ({DocumentSide.FRONT}, {DocumentSide.BACK})
    ):
        return str(_("Upload both sides of the My Number card."))
    return ""


def missing(invitation: Invitation, *, attested: bool) -> list[str]:
    """What still stops the submission, as messages for the person; [] when complete. An
    invitation for dependents only asks for no own number and no own documents."""
    draft = draft_of(invitation)
    problems: list[str] = []
    has_dependents = (
        draft is not None and SubmittedDependent.objects.filter(submission=draft).exists()
    )
    if invitation.dependents_only:
        # The employee's own number is stored: only the dependents are asked for, new ones
        # or changes to those on record.
        changes = draft is not None and DependentChange.objects.filter(submission=draft).exists()
        if not has_dependents and not changes:
            problems.append(str(_("Add a dependent, or change or remove one on record.")))
    else:
        if draft is None or draft.number_ciphertext is None:
            problems.append(str(_("Enter your individual number.")))
        documents = list(
            IdentityDocument.objects.filter(submission=draft).values_list("kind", "side")
            if draft
            else ()
        )
        problem = documents_problem(documents)
        if problem:
            problems.append(problem)
    if has_dependents and not attested:
        problems.append(str(_("Confirm that you checked your dependents' identity.")))
    return problems


def submit(
    *,
    invitation: Invitation,
    notice_acknowledged_at: datetime,
    attested: bool,
    client_address: str = "",
) -> Submission:
    """Hand the draft in. The invitation is marked used by one conditional UPDATE, so the
    same link submitted twice at once registers once: the second finds it used."""
    now = timezone.now()
    with transaction.atomic():
        taken = Invitation.objects.filter(
            Q(pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True),
            expires_at__gt=now,
        ).update(used_at=now)
        if not taken:
            raise InvitationClosed()
        if missing(invitation, attested=attested):
            raise ValueError("incomplete submission")
        draft = Submission.objects.select_for_update().get(invitation=invitation)
        draft.status = SubmissionStatus.SUBMITTED
        draft.submitted_at = now
        draft.notice_acknowledged_at = notice_acknowledged_at
        if attested:
            draft.dependents_attested_at = now
        draft.save()
        record_invitee(invitation, Action.COLLECTION_SUBMIT, client_address, submission=draft.pk)
    return draft


def is_employee(invitation: Invitation) -> bool:
    return Person.objects.filter(pk=invitation.person_id, kind=PersonKind.EMPLOYEE).exists()
