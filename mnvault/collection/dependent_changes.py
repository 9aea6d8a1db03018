"""Changes to dependents already on record, asked for by the employee through an invitation
for dependents only (a marriage changes a name, a child leaves the household): new details, or
that someone is no longer a dependent. The employee sees the names, relationships and birth
dates on record — never a number — and the handler's approval applies the changes.

A dependent whose removal was approved stays on record with their stored number until its
disposal (domain R29: the declarations that carry it have their own retention); they are only
off the employee's list.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.collection.drafts import (
    DependentDetails,
    open_draft,
    open_invitation,
    record_invitee,
)
from mnvault.collection.models import DependentChange, Invitation, Submission
from mnvault.people.models import Person, PersonKind
from mnvault.vault import api
from mnvault.vault.errors import VaultError

DETAILS = ("family_name", "given_name", "family_name_kana", "given_name_kana", "relationship")


def ended_at(dependent: Person) -> datetime | None:
    """When an approved change took this dependent off their employee's list, if one did."""
    removal = (
        DependentChange.objects.filter(
            dependent=dependent, kind=DependentChange.Kind.REMOVE, applied_at__isnull=False
        )
        .order_by("applied_at")
        .first()
    )
    return removal.applied_at if removal else None


def on_record(employee_id: int) -> QuerySet[Person]:
    """The employee's dependents on record, but those whose removal was approved."""
    removed = DependentChange.objects.filter(
        kind=DependentChange.Kind.REMOVE, applied_at__isnull=False
    ).values("dependent_id")
    return (
        Person.objects.filter(employee_id=employee_id, kind=PersonKind.DEPENDENT)
        .exclude(pk__in=removed)
        .order_by("pk")
    )


def asked(invitation: Invitation) -> QuerySet[DependentChange]:
    """The changes asked for in this invitation's draft (or submission)."""
    return (
        DependentChange.objects.filter(submission__invitation=invitation)
        .select_related("dependent")
        .order_by("pk")
    )


def _dependent(invitation: Invitation, dependent_id: int) -> Person:
    found = on_record(invitation.person_id).filter(pk=dependent_id).first()
    if found is None or not invitation.dependents_only:
        raise VaultError(_("This dependent is not on record."), code="not_on_record")
    return found


def _ask(invitation: Invitation, dependent_id: int, client_address: str, **values) -> None:
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        dependent = _dependent(invitation, dependent_id)
        DependentChange.objects.update_or_create(
            submission=submission, dependent=dependent, defaults=values
        )
        record_invitee(
            invitation,
            Action.COLLECTION_DEPENDENT_CHANGE,
            client_address,
            dependent=dependent.pk,
            kind=values["kind"],
        )


def ask_change(
    *,
    invitation: Invitation,
    dependent_id: int,
    details: DependentDetails,
    client_address: str = "",
) -> None:
    """New details for a dependent on record; asking again replaces the earlier request."""
    _ask(
        invitation,
        dependent_id,
        client_address,
        kind=DependentChange.Kind.CHANGE,
        **details.__dict__,
    )


def ask_removal(*, invitation: Invitation, dependent_id: int, client_address: str = "") -> None:
    """That a dependent on record is no longer one."""
    blank = dict.fromkeys(DETAILS, "")
    _ask(
        invitation,
        dependent_id,
        client_address,
        kind=DependentChange.Kind.REMOVE,
        birth_date=None,
        **blank,
    )


def withdraw(*, invitation: Invitation, change_id: int, client_address: str = "") -> None:
    """The employee takes back a change asked for in the draft."""
    with api.vault_transaction():
        invitation = open_invitation(invitation)
        submission = open_draft(invitation)
        deleted, _ = DependentChange.objects.filter(pk=change_id, submission=submission).delete()
        if deleted:
            record_invitee(
                invitation, Action.COLLECTION_DEPENDENT_CHANGE, client_address, withdrawn=True
            )


def apply(act: api.Act, submission: Submission) -> int:
    """Inside the approval: each change asked for is applied to the dependent's record, with
    an audit entry naming the fields changed (never their values)."""
    count = 0
    for change in DependentChange.objects.filter(submission=submission).order_by("pk"):
        dependent = Person.objects.select_for_update().get(pk=change.dependent_id)
        if change.kind == DependentChange.Kind.REMOVE:
            action, detail = Action.PEOPLE_DEPENDENT_ENDED, {}
        else:
            changed = [
                f for f in (*DETAILS, "birth_date") if getattr(change, f) != getattr(dependent, f)
            ]
            for field in changed:
                setattr(dependent, field, getattr(change, field))
            dependent.save()
            action, detail = Action.PEOPLE_UPDATE, {"fields": sorted(changed)}
        change.applied_at = timezone.now()
        change.save(update_fields=["applied_at"])
        audit.record(
            actor=act.actor,
            action=action,
            company_id=act.company.pk,
            person_id=dependent.pk,
            client_address=act.client_address,
            detail={**detail, "submission": submission.pk},
        )
        count += 1
    return count
