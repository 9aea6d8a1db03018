"""One company's part of the audit log, for the audit page and its CSV export: reading it,
and the recorded actions of verifying the chain and exporting entries.

The chain is global; a company's users see only the entries whose ``company_id`` is theirs
(docs/architecture.md, invariant 5). Filters arrive here already validated (``AuditFilters``),
so nothing typed by a user reaches a query or an audit entry's detail unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from mnvault.accounts.models import Membership, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.audit.verify import VerifyResult, verify
from mnvault.companies.models import Company
from mnvault.people.models import Person


@dataclass(frozen=True)
class AuditFilters:
    """What to show. Every value is typed: an id, a user's id, a known action or outcome code,
    dates, and a name without digits (so no filter can carry an individual number)."""

    person_id: int | None = None
    person_name: str = ""
    actor: User | None = None
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filters as field name → value, for the ``audit.export`` entry: ids, codes and
        ISO dates only; the actor by user name, which names a user that exists."""
        values: dict[str, Any] = {
            "person": self.person_id,
            "person_name": self.person_name,
            "actor": self.actor.get_username() if self.actor else "",
            "action": self.action,
            "outcome": self.outcome,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value not in (None, "")}


def start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in the installation's time zone (Asia/Tokyo): a date typed on the
    page means a Japanese calendar day, not a UTC one."""
    return timezone.make_aware(datetime.combine(day, time.min))


def company_entries(company_id: int, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The company's entries matching ``filters``, newest first."""
    entries = AuditEntry.objects.filter(company_id=company_id)
    if filters.person_id is not None:
        entries = entries.filter(person_id=filters.person_id)
    if filters.person_name:
        entries = entries.filter(
            person_id__in=people_named(company_id, filters.person_name).values("pk")
        )
    if filters.actor is not None:
        entries = entries.filter(actor_kind="user", actor_id=filters.actor.pk)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.since:
        entries = entries.filter(created_at__gte=start_of_day(filters.since))
    if filters.until:
        entries = entries.filter(created_at__lt=start_of_day(filters.until + timedelta(days=1)))
    return entries.order_by("-seq")


def people_named(company_id: int, name: str) -> QuerySet[Person]:
    """People of the company whose name or kana contains ``name`` (each word of it)."""
    people = Person.objects.filter(company_id=company_id)
    for word in name.split():
        people = people.filter(
            Q(family_name__icontains=word)
            | Q(given_name__icontains=word)
            | Q(family_name_kana__icontains=word)
            | Q(given_name_kana__icontains=word)
        )
    return people.order_by("family_name_kana", "given_name_kana", "pk")


def actions_present(company_id: int) -> list[str]:
    """The action codes found in the company's entries, for the action filter."""
    found = AuditEntry.objects.filter(company_id=company_id).values_list("action", flat=True)
    return list(found.order_by("action").distinct())  # not by seq: that would undo DISTINCT


def actor_names(company_id: int) -> list[str]:
    """User names of those who acted in the company or hold (or held) a role there."""
    acted = AuditEntry.objects.filter(company_id=company_id, actor_kind="user").values("actor_id")
    members = Membership.objects.filter(company_id=company_id).values("user_id")
    users = User.objects.filter(Q(pk__in=acted) | Q(pk__in=members))
    return sorted(users.values_list("username", flat=True))


def company_user(company_id: int, username: str) -> User | None:
    """The user of that name, if one acted in the company or has a role there; any other user
    is not the company's business, so their existence is not confirmed either."""
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    acted = AuditEntry.objects.filter(company_id=company_id, actor_kind="user", actor_id=user.pk)
    member = Membership.objects.filter(company_id=company_id, user=user)
    return user if acted.exists() or member.exists() else None


def people_in_company(company_id: int, person_ids: set[int]) -> dict[int, Person]:
    """Those of ``person_ids`` who are (still) people of the company, by id: the log outlives
    people, and an id of another company's person must not link anywhere."""
    people = Person.objects.filter(company_id=company_id, pk__in=person_ids)
    return {person.pk: person for person in people}


def verify_chain(*, acting_user: User, company: Company, client_address: str = "") -> VerifyResult:
    """Verify the whole installation's chain (it is global) and record that it was done, with
    the outcome. One process: forking from a threaded web server is not safe, and the command
    line (``mnvault audit verify``) is there for very long chains."""
    result = verify(workers=1)
    detail: dict[str, Any] = {"entries": result.entries, "checkpoints": result.checkpoints}
    if result.first_bad_seq is not None:
        detail["first_bad_seq"] = result.first_bad_seq
    with transaction.atomic(durable=True):
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.AUDIT_VERIFY,
            outcome=Outcome.OK if result.ok else Outcome.FAILED,
            reason="" if result.ok else "chain_broken",
            company_id=company.pk,
            client_address=client_address,
            detail=detail,
        )
    return result


def export_entries(
    *, acting_user: User, company: Company, filters: AuditFilters, client_address: str = ""
) -> QuerySet[AuditEntry]:
    """The filtered entries for an export. The export is recorded first, in its own
    transaction with the filters used; the entries run up to that record."""
    with transaction.atomic(durable=True):
        exported = audit.record(
            actor=Actor.of(acting_user),
            action=Action.AUDIT_EXPORT,
            company_id=company.pk,
            client_address=client_address,
            detail=filters.as_detail(),
        )
    return company_entries(company.pk, filters).filter(seq__lte=exported.seq)
