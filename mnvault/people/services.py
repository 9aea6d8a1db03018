"""Saving people, audited: who changed which fields of whom (never the values, which may be
personal data; the number itself is never on a Person)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.people.models import Person


def save_person(
    *, acting_user: User, person: Person, changed: Sequence[str], client_address: str = ""
) -> Person:
    creating = person.pk is None
    with transaction.atomic():
        person.save()
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.PEOPLE_CREATE if creating else Action.PEOPLE_UPDATE,
            company_id=person.company_id,
            person_id=person.pk,
            client_address=client_address,
            detail={"fields": sorted(changed)},
        )
    return person
