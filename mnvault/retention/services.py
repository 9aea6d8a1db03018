"""Retention and disposal actions, each with a keyword-only ``acting_user`` and its audit entry:
recording the year's declarations, proposing a disposal batch, approving (by a responsible
manager other than the proposer) or rejecting it, and disposing of it — crypto-shredding
through ``vault.disposal`` — with the sweep that finishes a disposal a crash cut short.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.collection.models import IdentityDocument, Submission, SubmittedDependent
from mnvault.companies.models import Company
from mnvault.domain.errors import VaultError
from mnvault.domain.roles import Capability
from mnvault.people.models import Person, PersonKind
from mnvault.retention import certificate, person_certificates, rules
from mnvault.retention.models import (
    BatchStatus,
    Declaration,
    DisposalBatch,
    DisposalItem,
    InsuranceMatter,
)
from mnvault.usage.models import ProvidedPerson, RunStatus
from mnvault.vault import api, disposal
from mnvault.vault.errors import Refused
from mnvault.vault.models import NumberRecord, NumberStatus
from mnvault.vault.services import as_actor, require


class DisposalProblem(VaultError):
    code = "disposal_problem"
    message = _("This disposal cannot be done.")


# --- what the rules read -------------------------------------------------------------------


def _declarations(employee_ids: Iterable[int]) -> dict[int, tuple[rules.Declaration, ...]]:
    found: dict[int, list[rules.Declaration]] = {}
    rows = Declaration.objects.filter(employee_id__in=list(employee_ids)).order_by("year")
    for employee_id, year, without, dependents in rows.values_list(
        "employee_id", "year", "without_numbers", "dependents"
    ):
        found.setdefault(employee_id, []).append(
            rules.Declaration(year=year, without_numbers=without, dependents=tuple(dependents))
        )
    return {k: tuple(v) for k, v in found.items()}


def _insurance(person_ids: Iterable[int]) -> dict[int, tuple[rules.InsuranceMatter, ...]]:
    found: dict[int, list[rules.InsuranceMatter]] = {}
    rows = InsuranceMatter.objects.filter(person_id__in=list(person_ids))
    for person_id, kind, completed_on in rows.values_list("person_id", "kind", "completed_on"):
        found.setdefault(person_id, []).append(
            rules.InsuranceMatter(kind=kind, completed_on=completed_on)
        )
    return {k: tuple(v) for k, v in found.items()}


def _payment_records(payee_ids: Iterable[int]) -> dict[int, tuple[int, date | None]]:
    """Each payee's last 支払調書 year in the provision ledger, and when it was submitted."""
    found: dict[int, tuple[int, date | None]] = {}
    rows = (
        ProvidedPerson.objects.filter(person_id__in=list(payee_ids), run__kind="payment_fees")
        .exclude(run__status=RunStatus.WITHDRAWN)
        .values_list("person_id", "run__year", "run__submitted_on")
    )
    for person_id, year, submitted_on in rows:
        if person_id not in found or year > found[person_id][0]:
            found[person_id] = (year, submitted_on)
    return found


def facts_of(people: Sequence[Person]) -> dict[int, rules.Facts]:
    """The rules' view of each person, read in a few queries for the whole list."""
    employee_rows = {p.pk: p for p in people if p.kind == PersonKind.EMPLOYEE}
    # Only the employees of dependents not in the list are read again (a batch of leavers is
    # mostly employees already in hand).
    missing = {p.employee_id for p in people if p.employee_id} - employee_rows.keys()
    employee_rows.update(Person.objects.in_bulk(list(missing)))
    employees = employee_rows.keys()
    declarations = _declarations(employees)
    insurance = _insurance([p.pk for p in people])
    payments = _payment_records([p.pk for p in people if p.kind == PersonKind.PAYEE])

    def employee_facts(person: Person) -> rules.Facts:
        return rules.Facts(
            kind=PersonKind.EMPLOYEE,
            person_id=person.pk,
            hire_date=person.hire_date,
            leave_date=person.leave_date,
            employed=person.leave_date is None or person.leave_date >= timezone.localdate(),
            declarations=declarations.get(person.pk, ()),
            insurance=insurance.get(person.pk, ()),
        )

    found: dict[int, rules.Facts] = {}
    for person in people:
        if person.kind == PersonKind.EMPLOYEE:
            found[person.pk] = employee_facts(person)
        elif person.kind == PersonKind.DEPENDENT:
            employee = employee_rows.get(person.employee_id or 0)
            owner = employee_facts(employee) if employee else None
            found[person.pk] = rules.Facts(
                kind=PersonKind.DEPENDENT,
                person_id=person.pk,
                declarations=owner.declarations if owner else (),
                insurance=insurance.get(person.pk, ()),
                employee=owner,
            )
        else:
            year, submitted = payments.get(person.pk, (None, None))
            found[person.pk] = rules.Facts(
                kind=PersonKind.PAYEE,
                person_id=person.pk,
                contract_end=person.contract_end,
                last_payment_year=year,
                payment_record_submitted_on=submitted,
                insurance=insurance.get(person.pk, ()),
            )
    return found


def holds_of(person: Person) -> list[rules.Hold]:
    return rules.holds(facts_of([person])[person.pk])


@dataclass(frozen=True)
class Due:
    person: Person
    due_on: date | None  # None: a hold with no end yet
    holds: list[rules.Hold]


def due_list(company: Company, *, within_days: int = 0, today: date | None = None) -> list[Due]:
    """Everyone with a number still held whose disposal date has passed, or falls within
    ``within_days`` (a "reservation" is just this computed date)."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=within_days)
    people = list(
        Person.objects.filter(company=company, number_record__status=NumberStatus.ACTIVE).order_by(
            "pk"
        )
    )
    pending = set(
        DisposalItem.objects.filter(
            batch__company=company,
            batch__status__in=[BatchStatus.PROPOSED, BatchStatus.APPROVED],
        ).values_list("person_id", flat=True)
    )
    facts = facts_of(people)
    found = []
    for person in people:
        if person.pk in pending:
            continue
        held = rules.holds(facts[person.pk])
        when = rules.disposal_date(held)
        if when is not None and when <= horizon:
            found.append(Due(person, when, held))
    return found


# --- actions -------------------------------------------------------------------------------


def record_declarations(
    *,
    acting_user: User | Actor,
    company: Company,
    year: int,
    employees: Sequence[Person] | None = None,
    without_numbers: bool = False,
    client_address: str = "",
) -> int:
    """Record that each employee (default: everyone on the payroll that year) filed their
    扶養控除等申告書 for ``year``, listing their current dependents. Idempotent per year."""
    actor = as_actor(acting_user)
    detail: dict[str, Any] = {"year": year}
    require(
        actor,
        company,
        Capability.DISPOSAL_PROPOSE,
        Action.DECLARATIONS_RECORD,
        detail=detail,
        client_address=client_address,
    )
    if employees is None:
        employees = list(
            Person.objects.filter(company=company, kind=PersonKind.EMPLOYEE)
            .filter(Q(hire_date__isnull=True) | Q(hire_date__lte=date(year, 12, 31)))
            .filter(Q(leave_date__isnull=True) | Q(leave_date__gte=date(year, 1, 1)))
        )
    dependents: dict[int, list[int]] = {}
    for pk, employee_id in Person.objects.filter(
        employee_id__in=[e.pk for e in employees], kind=PersonKind.DEPENDENT
    ).values_list("pk", "employee_id"):
        dependents.setdefault(employee_id, []).append(pk)
    with transaction.atomic():
        made = 0
        for employee in employees:
            if employee.company_id != company.pk or employee.kind != PersonKind.EMPLOYEE:
                raise DisposalProblem(_("Only employees of this company file declarations."))
            _declaration, created = Declaration.objects.get_or_create(
                employee=employee,
                year=year,
                defaults={
                    "company": company,
                    "without_numbers": without_numbers,
                    "dependents": dependents.get(employee.pk, []),
                    "recorded_by_id": actor.id if actor.kind == "user" else None,
                },
            )
            made += created
        audit.record(
            actor=actor,
            action=Action.DECLARATIONS_RECORD,
            company_id=company.pk,
            client_address=client_address,
            detail={**detail, "employees": made},
        )
    return made


def propose(
    *,
    acting_user: User | Actor,
    company: Company,
    people: Sequence[Person],
    dispose_on: date | None = None,
    early_reasons: Mapping[int, str] | None = None,
    client_address: str = "",
) -> DisposalBatch:
    """A batch of people whose numbers are to be disposed of on ``dispose_on`` (default
    today). Each person disposed of before their computed date needs a reason; a person still
    under a hold keeps it listed with its end, for the approver to see."""
    actor = as_actor(acting_user)
    dispose_on = dispose_on or timezone.localdate()
    early_reasons = {k: v.strip()[:500] for k, v in (early_reasons or {}).items()}
    require(
        actor,
        company,
        Capability.DISPOSAL_PROPOSE,
        Action.DISPOSAL_PROPOSE,
        detail={"people": len(people)},
        client_address=client_address,
    )
    if not people:
        raise DisposalProblem(_("Choose at least one person."), code="empty")
    if dispose_on < timezone.localdate():
        raise DisposalProblem(_("The disposal date is in the past."), code="date")
    people = _with_dependents(company, people)
    facts = facts_of(people)
    items = []
    for person in people:
        if person.company_id != company.pk:
            raise DisposalProblem(_("The person belongs to another company."), code="company")
        held = rules.holds(facts[person.pk])
        due_on = rules.disposal_date(held)
        early = due_on is None or due_on > dispose_on
        reason = early_reasons.get(person.pk) or early_reasons.get(person.employee_id or 0, "")
        if early and not reason:
            raise DisposalProblem(
                _(
                    "%(name)s is still under a legal hold until %(until)s (%(hold)s): give "
                    "the reason for disposing of the number early."
                )
                % _first_hold(person, rules.remaining(held, dispose_on)),
                code="held",
            )
        items.append((person, due_on, reason if early else "", _snapshot(held, dispose_on)))
    with transaction.atomic():
        if NumberRecord.objects.filter(
            person_id__in=[p.pk for p in people], status=NumberStatus.ACTIVE
        ).count() != len(people):
            raise DisposalProblem(
                _("Someone in the batch holds no number."), code="batch_without_number"
            )
        batch = DisposalBatch.objects.create(
            company=company,
            status=BatchStatus.PROPOSED,
            dispose_on=dispose_on,
            proposed_by_id=actor.id if actor.kind == "user" else None,
        )
        DisposalItem.objects.bulk_create(
            [
                DisposalItem(batch=batch, person=p, due_on=d, early_reason=r, holds=h)
                for p, d, r, h in items
            ],
            batch_size=500,
        )
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_PROPOSE,
            company_id=company.pk,
            client_address=client_address,
            detail={
                "batch": batch.pk,
                "people": len(items),
                "early": sum(1 for item in items if item[2]),
                "on": dispose_on.isoformat(),
            },
        )
    return batch


def _with_dependents(company: Company, people: Sequence[Person]) -> list[Person]:
    """An employee's disposal takes with it their dependents' numbers still held: those are
    kept for the employee's declarations and adjustments only (R23, R29)."""
    chosen = {p.pk: p for p in people}
    extra = Person.objects.filter(
        company=company,
        kind=PersonKind.DEPENDENT,
        employee_id__in=[p.pk for p in people if p.kind == PersonKind.EMPLOYEE],
        number_record__status=NumberStatus.ACTIVE,
    ).exclude(pk__in=list(chosen))
    return [*chosen.values(), *extra]


def _snapshot(held: list[rules.Hold], on: date) -> list[dict[str, str]]:
    return [
        {
            "rule": h.rule,
            "label": str(h.label),
            "until": h.ends_on.isoformat() if h.ends_on else "",
        }
        for h in rules.remaining(held, on)
    ]


def _first_hold(person: Person, held: list[rules.Hold]) -> dict[str, str]:
    hold = held[0] if held else None
    return {
        "name": str(person),
        "until": hold.ends_on.isoformat() if hold and hold.ends_on else str(_("no end yet")),
        "hold": str(hold.label) if hold else "",
    }


def approve(
    *, acting_user: User | Actor, batch: DisposalBatch, client_address: str = ""
) -> DisposalBatch:
    """The second person's approval; the batch is disposed of at once when its day has come
    (else by the scheduler on that day)."""
    actor = as_actor(acting_user)
    detail = {"batch": batch.pk}
    require(
        actor,
        batch.company,
        Capability.DISPOSAL_APPROVE,
        Action.DISPOSAL_APPROVE,
        detail=detail,
        client_address=client_address,
    )
    if actor.kind != "user" or batch.proposed_by_id == actor.id:
        _refuse_self_approval(actor, batch, client_address)
    with transaction.atomic():
        locked = DisposalBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != BatchStatus.PROPOSED:
            raise DisposalProblem(_("Only a proposed batch is approved."), code="batch_state")
        locked.status = BatchStatus.APPROVED
        locked.approved_by_id = actor.id
        locked.approved_at = timezone.now()
        locked.save(update_fields=["status", "approved_by", "approved_at"])
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_APPROVE,
            company_id=locked.company_id,
            client_address=client_address,
            detail={**detail, "people": locked.items.count()},
        )
    if locked.dispose_on <= timezone.localdate():
        dispose(locked, actor=actor)
    locked.refresh_from_db()
    return locked


def _refuse_self_approval(actor: Actor, batch: DisposalBatch, client_address: str) -> None:
    """The two-person rule (issue 12): audited as a refusal, in a transaction of its own."""
    api.audit_durably(
        actor,
        Action.DISPOSAL_APPROVE,
        batch.company,
        None,
        outcome=Outcome.REFUSED,
        reason="two_person",
        client_address=client_address,
        detail={"batch": batch.pk},
    )
    raise Refused(
        _("The proposer cannot approve their own batch: another responsible manager must."),
        code="two_person",
    )


def reject(
    *, acting_user: User | Actor, batch: DisposalBatch, reason: str, client_address: str = ""
) -> None:
    actor = as_actor(acting_user)
    require(
        actor,
        batch.company,
        Capability.DISPOSAL_APPROVE,
        Action.DISPOSAL_REJECT,
        detail={"batch": batch.pk},
        client_address=client_address,
    )
    with transaction.atomic():
        updated = DisposalBatch.objects.filter(pk=batch.pk, status=BatchStatus.PROPOSED).update(
            status=BatchStatus.REJECTED, rejected_reason=reason.strip()[:500]
        )
        if not updated:
            raise DisposalProblem(_("Only a proposed batch is rejected."), code="batch_state")
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_REJECT,
            company_id=batch.company_id,
            client_address=client_address,
            detail={"batch": batch.pk},
        )


# Letters only: a hex suffix starting with digits ran on from the year and batch ("2026-000001-
# 03A0" holds 12 digits), and 1.5% of those runs validate as an individual number, so the
# shredding entries were refused by the audit log after the keys were gone, on every retry.
CERTIFICATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_certificate_number(batch: DisposalBatch) -> str:
    suffix = "".join(secrets.choice(CERTIFICATE_LETTERS) for _ in range(4))
    return f"C-{timezone.localdate().year}-{batch.pk:06d}-{suffix}"


def dispose(batch: DisposalBatch, *, actor: Actor) -> int:
    """Shred the keys of everyone in an approved batch (key store first, durable), then
    delete the ciphertexts, the identity-document photos and the submitted numbers, mark the
    numbers disposed and the batch done, in one data transaction with one audit entry per
    person. Safe to run again: the sweep does, after a crash between the two commits."""
    batch = DisposalBatch.objects.get(pk=batch.pk)
    if batch.status != BatchStatus.APPROVED:
        raise DisposalProblem(_("Only an approved batch is disposed of."), code="batch_state")
    # What shredding and the certificate need, not the items' holds snapshots.
    items = list(batch.items.select_related("person").defer("holds").order_by("person_id"))
    people = [item.person for item in items]
    number = batch.certificate_number or new_certificate_number(batch)
    if not batch.certificate_number:
        DisposalBatch.objects.filter(pk=batch.pk).update(certificate_number=number)
    now = timezone.now()
    disposal.shred_keys(
        people,
        journal=disposal.JournalEntry(
            batch_id=batch.pk,
            company_id=batch.company_id,
            certificate=number,
            person_ids=tuple(p.pk for p in people),
            at=now,
        ),
    )
    with transaction.atomic():
        ids = [p.pk for p in people]
        destroyed = _destroyed(batch, items)
        disposal.mark_disposed(people, on=timezone.localdate(), certificate=number)
        _forget_collected(batch)
        DisposalItem.objects.filter(batch=batch).update(shredded_at=now)
        DisposalBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE, disposed_at=now)
        audit.record_many(
            [
                {
                    "actor": actor,
                    "action": Action.DISPOSAL_SHRED,
                    "company_id": batch.company_id,
                    "person_id": pk,
                    "detail": {"batch": batch.pk, "certificate": number},
                }
                for pk in ids
            ]
        )
        _certify(batch, items, destroyed, number, now, actor)
    finish_certificate(batch)
    person_certificates.queue_mail(batch)
    return len(people)


def _destroyed(batch: DisposalBatch, items: list[DisposalItem]) -> dict[int, tuple[str, ...]]:
    """What the disposal destroys for each person, for the certificate (before it does)."""
    ids = {item.person_id for item in items}
    photos = set(
        IdentityDocument.objects.filter(submission__person_id__in=ids).values_list(
            "submission__person_id", flat=True
        )
    )
    with_dependents = {item.person.employee_id for item in items if item.person.employee_id}
    found = {}
    for pk in ids:
        codes = ["number"]
        if pk in with_dependents:
            codes.append("dependent_numbers")
        if pk in photos:
            codes.append("document_photos")
        found[pk] = tuple(codes)
    return found


def _full_name(user_id: int | None) -> str:
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        return str(_("the system"))
    return user.first_name or user.username


def _certify(
    batch: DisposalBatch,
    items: list[DisposalItem],
    destroyed: dict[int, tuple[str, ...]],
    number: str,
    now: Any,
    actor: Actor,
) -> None:
    """The certified facts, their digest bound to the log by a ``disposal.certify`` entry in
    the disposal's own transaction."""
    company = Company.objects.get(pk=batch.company_id)
    data = certificate.CertificateData(
        number=number,
        company_name=company.name,
        company_id=company.pk,
        subjects=tuple(
            certificate.Subject(
                person_id=item.person_id,
                name=str(item.person),
                employee_code=item.person.employee_code,
                birth_date=item.person.birth_date,
                destroyed=destroyed[item.person_id],
                early_reason=item.early_reason,
            )
            for item in items
        ),
        method=certificate.CRYPTO_SHREDDING,
        proposer=_full_name(batch.proposed_by_id),
        approver=_full_name(batch.approved_by_id),
        proposed_at=batch.proposed_at,
        approved_at=batch.approved_at or now,
        disposed_at=now,
        key_backups_expire_on=key_backups_expire_on(now),
    )
    entry = audit.record(
        actor=actor,
        action=Action.DISPOSAL_CERTIFY,
        company_id=company.pk,
        detail={
            "batch": batch.pk,
            "certificate": number,
            "digest": certificate.facts_digest(data),
        },
    )
    DisposalBatch.objects.filter(pk=batch.pk).update(
        certificate_facts=certificate.facts(data), certificate_seq=entry.seq
    )


def key_backups_expire_on(disposed_at: datetime) -> date:
    """The day the last key-store backup that held the disposed keys expires: one taken just
    before the disposal is kept MNVAULT_KEYSTORE_BACKUP_DAYS (the backup settings)."""
    days = timedelta(days=settings.MNVAULT_KEYSTORE_BACKUP_DAYS)
    return timezone.localdate(disposed_at + days)


def finish_certificate(batch: DisposalBatch) -> None:
    """The proof up to a signed checkpoint, once the certify entry has committed (signing
    appends to the checkpoint file, which must never name an entry a rollback undid)."""
    fresh = DisposalBatch.objects.get(pk=batch.pk)
    if fresh.certificate_seq is None or fresh.certificate_proof is not None:
        return
    proof = certificate.build_proof(certificate_entry_seq=fresh.certificate_seq)
    DisposalBatch.objects.filter(pk=batch.pk).update(certificate_proof=proof)


def certificate_pdf(
    *,
    acting_user: User | Actor,
    batch: DisposalBatch,
    language: str = "ja",
    client_address: str = "",
) -> bytes:
    """The batch's certificate as a PDF, for those who see disposals; audited."""
    actor = as_actor(acting_user)
    detail = {"batch": batch.pk, "certificate": batch.certificate_number}
    require(
        actor,
        batch.company,
        Capability.DISPOSAL_VIEW,
        Action.DISPOSAL_CERTIFICATE_DOWNLOAD,
        detail=detail,
        client_address=client_address,
    )
    finish_certificate(batch)
    batch.refresh_from_db()
    if batch.certificate_facts is None or batch.certificate_proof is None:
        raise DisposalProblem(_("This batch has no certificate yet."), code="batch_state")
    data = certificate.data_from_facts(batch.certificate_facts, language)
    out = io.BytesIO()
    certificate.certificate_pdf(data, batch.certificate_proof, out)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_CERTIFICATE_DOWNLOAD,
            company_id=batch.company_id,
            client_address=client_address,
            detail=detail,
        )
    return out.getvalue()


def _forget_collected(batch: DisposalBatch) -> None:
    """What collection kept of the batch's people that their keys sealed: photos and the
    numbers of submissions (unreadable already: their keys are gone; deleted for good
    measure). The people are a subquery on the batch: three statements, whatever its size."""
    people = DisposalItem.objects.filter(batch=batch).values("person_id")
    IdentityDocument.objects.filter(submission__person_id__in=people).delete()
    Submission.objects.filter(person_id__in=people).update(number_ciphertext=None)
    SubmittedDependent.objects.filter(
        Q(person_id__in=people) | Q(submission__person_id__in=people)
    ).update(number_ciphertext=None)


def sweep(*, now: Any = None) -> int:
    """The scheduler's job: dispose of approved batches whose day has come, and finish any
    disposal a crash cut short (keys gone, records not yet marked)."""
    today = timezone.localdate()
    done = 0
    for batch in DisposalBatch.objects.filter(status=BatchStatus.APPROVED, dispose_on__lte=today):
        done += dispose(batch, actor=Actor.system("disposal"))
    for batch in DisposalBatch.objects.filter(
        status=BatchStatus.DONE, certificate_proof__isnull=True
    ):
        finish_certificate(batch)
    return done
