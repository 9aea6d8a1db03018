"""Who may do what with a number, and for which purpose (domain R1, R11).

Only handlers (事務取扱担当者) and responsible managers (事務取扱責任者) reach numbers — not the
company admin, not the installation admin, not an auditor. A reveal or export also needs a
purpose that the company notifies and that was notified to that person, stays within the
hourly limits of numbers shown (per actor and per company), and, for a user at a screen,
a sign-in or confirmation of who they are that is recent enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import ApiClient, Membership
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.companies.models import Company
from mnvault.domain.roles import Capability, can
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault.models import NumberRecord, NumberStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Operation(models.TextChoices):
    """What the vault decides on; each is the capability of the same name in the role table."""

    REVEAL = Capability.NUMBER_REVEAL.value
    EXPORT = Capability.NUMBER_EXPORT.value
    STORE = Capability.NUMBER_STORE.value
    IMPORT = Capability.NUMBER_IMPORT.value
    # Numbers put into a statutory document (vault.provision).
    PROVIDE = Capability.NUMBER_PROVIDE.value
    # Collection (取得): a handler looks at identity documents and approves or sends back.
    REVIEW = Capability.COLLECTION_REVIEW.value


NEEDS_PURPOSE = frozenset({Operation.REVEAL, Operation.EXPORT, Operation.PROVIDE})
# Operations that put a number in front of someone: counted against the hourly limits. A
# document run (PROVIDE) is not: see vault.provision for why.
RATE_LIMITED = frozenset({Operation.REVEAL, Operation.EXPORT})
SHOWN = (Action.NUMBER_REVEAL, Action.NUMBER_EXPORT)
RATE_WINDOW = timedelta(hours=1)
# Operations a user at a screen does only shortly after giving their password or a code.
NEEDS_RECENT_SIGN_IN = frozenset({Operation.REVEAL, Operation.EXPORT, Operation.PROVIDE})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    message: StrOrPromise = ""


ALLOW = Decision(True)


def _refuse(reason: str, message: StrOrPromise) -> Decision:
    return Decision(False, reason, message)


def active_memberships(actor: Actor, company: Company) -> list[Membership]:
    """The actor's live roles in ``company``; an API client holds the one role it was given."""
    if actor.id is None:
        return []
    if actor.kind == "api":
        client = ApiClient.objects.filter(
            pk=actor.id, company=company, revoked_at__isnull=True
        ).first()
        return [Membership(company=company, role=client.role)] if client else []
    if actor.kind != "user":
        return []
    return list(
        Membership.objects.filter(
            user_id=actor.id, company=company, revoked_at__isnull=True, user__is_active=True
        )
    )


def decide(
    actor: Actor,
    company: Company,
    operation: str,
    *,
    person: Person | None = None,
    purpose: str = "",
    amount: int = 1,
) -> Decision:
    """Whether ``actor`` may perform ``operation``; pure apart from reading memberships,
    purposes and the recent audit entries, so callers can audit the refusal before they raise.
    ``amount`` is how many numbers a reveal or export would show (0: already counted, for the
    further people of one export)."""
    if person is not None and person.company_id != company.pk:
        return _refuse("other_company", _("The person belongs to another company."))
    granting = [m for m in active_memberships(actor, company) if can([m.role], operation)]
    if not granting:
        return _refuse(
            "role",
            _("Only handlers and responsible managers may handle numbers."),
        )
    if person is not None and not any(
        not m.person_kinds or person.kind in m.person_kinds for m in granting
    ):
        return _refuse("scope", _("This kind of person is outside your scope."))
    if operation in NEEDS_RECENT_SIGN_IN and not recently_authenticated(actor):
        return _refuse(
            "reauthenticate",
            _("Confirm who you are with your password or a code, then try again."),
        )
    if person is not None and operation in NEEDS_PURPOSE:
        decision = _decide_disposed(person)
        if not decision.allowed:
            return decision
    if operation in NEEDS_PURPOSE:
        decision = _decide_purpose(company, person, purpose)
        if not decision.allowed:
            return decision
    if operation in RATE_LIMITED and amount:
        return _decide_rate(actor, company, amount)
    return ALLOW


def kinds_in_scope(actor: Actor, company: Company, operation: str) -> frozenset[str] | None:
    """The person kinds the actor may handle for ``operation``; None means every kind. For bulk
    work that checks the role once and the scope row by row (domain R1)."""
    kinds: set[str] = set()
    for membership in active_memberships(actor, company):
        if can([membership.role], operation):
            if not membership.person_kinds:
                return None
            kinds.update(membership.person_kinds)
    return frozenset(kinds)


def recently_authenticated(actor: Actor) -> bool:
    """Whether a user at a screen gave their password or a code within the last
    ``MNVAULT_REAUTH_MINUTES`` ("sudo mode"). An actor without a sign-in session (the command
    line, the scheduler) has no time to check; the pages always give one."""
    if actor.authenticated_at is None:
        return True
    fresh_for = timedelta(minutes=float(settings.MNVAULT_REAUTH_MINUTES))
    return timezone.now() - actor.authenticated_at <= fresh_for


def _decide_rate(actor: Actor, company: Company, amount: int) -> Decision:
    """At most ``MNVAULT_REVEALS_PER_HOUR`` numbers shown to one actor and
    ``MNVAULT_COMPANY_REVEALS_PER_HOUR`` in one company in the last hour (0: no limit), counted
    from the audit log — the record of every number shown, which no other counter could
    contradict (its indexes on actor or company, action and time keep the count cheap).

    Inside the vault's transaction the actor's role rows are locked first, so one user's
    concurrent reveals are counted one after the other on PostgreSQL (SQLite serialises every
    writer anyway); the company's count may be passed by as many reveals as run at once."""
    if transaction.get_connection().in_atomic_block and actor.kind == "user" and actor.id:
        list(
            Membership.objects.select_for_update()
            .filter(user_id=actor.id, company=company, revoked_at__isnull=True)
            .values_list("pk", flat=True)
        )
    shown = AuditEntry.objects.filter(
        action__in=SHOWN, outcome=Outcome.OK, created_at__gte=timezone.now() - RATE_WINDOW
    )
    per_actor = int(settings.MNVAULT_REVEALS_PER_HOUR)
    if per_actor and actor.id is not None:
        mine = shown.filter(actor_kind=actor.kind, actor_id=actor.id).count()
        if mine + amount > per_actor:
            return _refuse(
                "reveal_rate",
                _(
                    "You have been shown as many numbers as allowed in one hour. "
                    "Try again later, or ask the responsible manager."
                ),
            )
    per_company = int(settings.MNVAULT_COMPANY_REVEALS_PER_HOUR)
    if per_company and shown.filter(company_id=company.pk).count() + amount > per_company:
        return _refuse(
            "company_reveal_rate",
            _(
                "The company has been shown as many numbers as allowed in one hour. "
                "Try again later."
            ),
        )
    return ALLOW


def _decide_disposed(person: Person) -> Decision:
    """A disposed number is gone for good; every later attempt says when and by which
    certificate (domain R5), and is audited as refused."""
    found = (
        NumberRecord.objects.filter(person_id=person.pk, status=NumberStatus.DISPOSED)
        .values_list("disposed_on", "certificate_number")
        .first()
    )
    if found is None:
        return ALLOW
    disposed_on, certificate = found
    return _refuse(
        "disposed",
        _("The number was disposed of on %(date)s (certificate %(certificate)s).")
        % {"date": disposed_on.isoformat() if disposed_on else "-", "certificate": certificate},
    )


def _decide_purpose(company: Company, person: Person | None, purpose: str) -> Decision:
    if not purpose:
        return _refuse("no_purpose", _("A purpose is required."))
    if purpose not in company.notified_purposes():
        return _refuse(
            "purpose_not_notified_by_company",
            _("The company does not notify this purpose."),
        )
    if (
        person is not None
        and not PersonPurpose.objects.filter(
            person=person, purpose=purpose, notified_on__lte=timezone.localdate()
        ).exists()
    ):
        return _refuse(
            "purpose_not_notified_to_person",
            _("This purpose was not notified to this person."),
        )
    return ALLOW
