"""Numbers put into a statutory document (利用・提供): many people at once, for one purpose.

What ``services.export_numbers`` does for a handful of people, done in one pass for a document
run of thousands: the role, the re-authentication and the actor's person-kind scope are
decided once, each person's notified purpose and number status in one query per batch, and one
audit entry per person whose number goes into the file, written with ``audit.record_many`` in
the same transaction as the decryption.

All or none within a call: if any person may not be provided (out of scope, purpose not
notified to them, no active number), nothing is decrypted and the refusal is audited for that
person. The document run checks all of this before it asks (``usage.checks``), so a refusal
here means something changed in between.

Document runs are not counted against the hourly reveal limits (``access.RATE_LIMITED``):
those stop a stolen screen session from reading numbers one by one; a run is a statutory
document of the whole company, prepared, checked and produced by a handler who confirmed who
they are, and every number in it is in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault import api, datakeys
from mnvault.vault.access import Operation, decide, kinds_in_scope
from mnvault.vault.errors import KeyUnavailable, Refused, VaultError
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.routers import KEY_STORE
from mnvault.vault.services import as_actor

REFUSALS: Mapping[str, Any] = {
    "scope": _("This kind of person is outside your scope."),
    "purpose_not_notified_to_person": _("This purpose was not notified to this person."),
    "not_stored": _("No number is stored."),
    "disposed": _("The number has been disposed of."),
}


def unprovidable(company: Company, people: Sequence[Person], purpose: str) -> dict[int, str]:
    """Who among ``people`` could not be provided for ``purpose``, by person id, with the
    reason code (``REFUSALS``) — without decrypting anything, so a run can list its problems
    before it is produced. Scope is the caller's concern (it depends on the actor)."""
    ids = [p.pk for p in people]
    notified = set(
        PersonPurpose.objects.filter(person_id__in=ids, purpose=purpose).values_list(
            "person_id", flat=True
        )
    )
    status = dict(NumberRecord.objects.filter(person_id__in=ids).values_list("person_id", "status"))
    problems: dict[int, str] = {}
    for person in people:
        state = status.get(person.pk)
        if state is None:
            problems[person.pk] = "not_stored"
        elif state != NumberStatus.ACTIVE:
            problems[person.pk] = "disposed"
        elif person.pk not in notified:
            problems[person.pk] = "purpose_not_notified_to_person"
    return problems


@sensitive_variables("numbers", "dek")
def provide_numbers(
    *,
    acting_user: User | Actor,
    company: Company,
    people: Sequence[Person],
    purpose: str,
    detail: dict[str, Any],
    client_address: str = "",
) -> dict[int, str]:
    """The numbers of ``people`` by person id, for the document ``detail`` names (run id,
    kind, year: never a number). One audit entry per person, in the same transaction."""
    actor = as_actor(acting_user)
    try:
        return _provide(actor, company, people, purpose, detail, client_address)
    except VaultError as error:
        if not isinstance(error, Refused):  # refusals are audited where they are decided
            api.audit_durably(
                actor,
                Action.NUMBER_PROVIDE,
                company,
                None,
                outcome=Outcome.FAILED,
                reason=error.code,
                purpose=purpose,
                client_address=client_address,
                detail=detail,
            )
        raise


@sensitive_variables("numbers")
def _provide(
    actor: Actor,
    company: Company,
    people: Sequence[Person],
    purpose: str,
    detail: dict[str, Any],
    client_address: str,
) -> dict[int, str]:
    with api.vault_transaction():
        refusal = _refusal(actor, company, people, purpose)
        if refusal is None:
            numbers = _open_all(people)
            audit.record_many(
                [
                    {
                        "actor": actor,
                        "action": Action.NUMBER_PROVIDE,
                        "company_id": company.pk,
                        "person_id": person.pk,
                        "purpose": purpose,
                        "client_address": client_address,
                        "detail": detail,
                    }
                    for person in people
                ]
            )
            return numbers
        person_id, reason, message = refusal
        audit.record(
            actor=actor,
            action=Action.NUMBER_PROVIDE,
            outcome=Outcome.REFUSED,
            company_id=company.pk,
            person_id=person_id,
            purpose=purpose,
            reason=reason,
            client_address=client_address,
            detail=detail,
        )
    raise Refused(message, code=reason)


def _refusal(
    actor: Actor, company: Company, people: Sequence[Person], purpose: str
) -> tuple[int | None, str, Any] | None:
    """The first reason not to provide: the role, re-authentication and the company's purpose
    (decided once), then each person's scope, purpose and number."""
    decision = decide(actor, company, Operation.PROVIDE, purpose=purpose)
    if not decision.allowed:
        return None, decision.reason, decision.message
    kinds = kinds_in_scope(actor, company, Operation.PROVIDE)
    for person in people:
        if person.company_id != company.pk:
            return person.pk, "other_company", _("The person belongs to another company.")
        if kinds is not None and person.kind not in kinds:
            return person.pk, "scope", REFUSALS["scope"]
    for person_id, reason in unprovidable(company, people, purpose).items():
        return person_id, reason, REFUSALS[reason]
    return None


@sensitive_variables("numbers", "key")
def _open_all(people: Sequence[Person]) -> dict[int, str]:
    by_id = {p.pk: p for p in people}
    records = NumberRecord.objects.filter(person_id__in=list(by_id)).values_list(
        "person_id", "ciphertext"
    )
    refs = {p.key_ref: p for p in people}
    keys = {refs[k.ref].pk: k for k in DataKey.objects.using(KEY_STORE).filter(ref__in=list(refs))}
    numbers: dict[int, str] = {}
    for person_id, ciphertext in records:
        person, data_key = by_id[person_id], keys.get(person_id)
        if (
            data_key is None
            or ciphertext is None
            or ((data_key.company_id, data_key.person_id) != (person.company_id, person.pk))
        ):
            raise KeyUnavailable(code="no_key")
        key = datakeys.unwrap(data_key)
        numbers[person_id] = api.decrypt(
            key, ciphertext, api.field_aad(person.company_id, person.pk, api.Field.NUMBER)
        ).decode("ascii")
    return numbers
