"""Who may do what with a number, and for which purpose (domain R1, R11).

Only handlers (事務取扱担当者) and responsible managers (事務取扱責任者) reach numbers — not the
company admin, not the installation admin, not an auditor. A reveal or export also needs a
purpose that the company notifies and that was notified to that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import ApiClient, Membership
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company
from mnvault.domain.roles import Capability, can
from mnvault.people.models import Person, PersonPurpose

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Operation(models.TextChoices):
    """What the vault decides on; each is the capability of the same name in the role table."""

    REVEAL = Capability.NUMBER_REVEAL.value
    EXPORT = Capability.NUMBER_EXPORT.value
    STORE = Capability.NUMBER_STORE.value
    IMPORT = Capability.NUMBER_IMPORT.value
    # Collection (取得): a handler looks at identity documents and approves or sends back.
    REVIEW = Capability.COLLECTION_REVIEW.value


NEEDS_PURPOSE = frozenset({Operation.REVEAL, Operation.EXPORT})


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
) -> Decision:
    """Whether ``actor`` may perform ``operation``; pure apart from reading memberships and
    purposes, so callers can audit the refusal before they raise."""
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
    if operation in NEEDS_PURPOSE:
        return _decide_purpose(company, person, purpose)
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
