"""The actions on a document run, each with a keyword-only ``acting_user`` and its audit entry:
prepare from an upload, confirm or leave out rows, start production, download, mark submitted
or withdrawn. Production itself runs in the background (``usage.production``).

Refusals are audited durably before they are raised, so a role that may not act leaves a trace
whatever happens to the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain.errors import VaultError
from mnvault.domain.roles import Capability
from mnvault.scheduler import tasks
from mnvault.usage import checks, output, reading
from mnvault.usage.kinds import KINDS, DocumentKind
from mnvault.usage.matching import Matcher
from mnvault.usage.models import (
    Correction,
    DocumentRun,
    MatchState,
    ProvidedPerson,
    RunRow,
    RunStatus,
    SubmissionMethod,
)
from mnvault.vault import api
from mnvault.vault.access import Operation, decide
from mnvault.vault.errors import Refused
from mnvault.vault.services import as_actor, require

PRODUCE_TARGET = "mnvault.usage.production.produce"


class RunProblem(VaultError):
    """A run cannot do what was asked in its state; the message says why."""

    code = "run_problem"
    message = _("This document run cannot do that now.")


def kind_of(run: DocumentRun) -> DocumentKind:
    return KINDS[run.kind]


def prepare_run(
    *,
    acting_user: User | Actor,
    company: Company,
    kind: str,
    year: int,
    data: bytes,
    source_name: str = "",
    recipient_detail: str = "",
    payer_address: str = "",
    payer_phone: str = "",
    corrects: DocumentRun | None = None,
    correction: str = Correction.NONE,
    client_address: str = "",
) -> DocumentRun:
    """A run from an uploaded payroll file: every row read, matched and checked; nothing is
    produced yet. A file that cannot be read, or holds a number, is refused whole (and the
    refusal audited, without anything of the file)."""
    actor = as_actor(acting_user)
    detail: dict[str, Any] = {"document": kind, "year": year}
    try:
        return _prepare(
            actor,
            company,
            kind,
            year,
            data,
            source_name,
            recipient_detail,
            payer_address,
            payer_phone,
            corrects,
            correction,
            client_address,
        )
    except (reading.UnreadableFile, RunProblem) as problem:
        api.audit_durably(
            actor,
            Action.DOCUMENT_PREPARE,
            company,
            None,
            outcome=Outcome.FAILED,
            reason=problem.code,
            client_address=client_address,
            detail=detail,
        )
        raise


def _prepare(
    actor: Actor,
    company: Company,
    kind: str,
    year: int,
    data: bytes,
    source_name: str,
    recipient_detail: str,
    payer_address: str,
    payer_phone: str,
    corrects: DocumentRun | None,
    correction: str,
    client_address: str,
) -> DocumentRun:
    detail: dict[str, Any] = {"document": kind, "year": year}
    require(
        actor,
        company,
        Capability.DOCUMENTS_PREPARE,
        Action.DOCUMENT_PREPARE,
        detail=detail,
        client_address=client_address,
    )
    spec = KINDS.get(kind)
    if spec is None:
        raise RunProblem(_("Unknown document kind."), code="kind")
    if year not in spec.years:
        raise RunProblem(
            _("The layout of this document is known for %(first)d to %(last)d only.")
            % {"first": spec.years.start, "last": spec.years.stop - 1},
            code="year",
        )
    _check_correction(company, kind, year, corrects, correction)
    if spec.needs_payer_address and not payer_address.strip():
        raise RunProblem(_("Give the payer's address as the document names it."), code="payer")
    read = list(spec.read(reading.rows(reading.decode(data)), year))
    if not read:
        raise RunProblem(_("The file holds no rows."), code="empty")
    matcher = Matcher(company.pk, spec.person_kinds)
    with transaction.atomic():
        run = DocumentRun.objects.create(
            company=company,
            kind=kind,
            year=year,
            recipient=spec.recipient,
            recipient_detail=recipient_detail[:100],
            payer_address=payer_address.strip()[:120],
            payer_phone=payer_phone.strip()[:15],
            correction=correction,
            corrects=corrects,
            status=RunStatus.PREPARED,
            source_name=source_name[:200],
            created_by_id=actor.id if actor.kind == "user" else None,
        )
        kana = spec.halfwidth_kana(year)
        rows = [_row(run, item, matcher, kana, spec.all_dependents) for item in read]
        checks.check_rows(company, rows, spec.purpose)
        RunRow.objects.bulk_create(rows, batch_size=500)
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_PREPARE,
            company_id=company.pk,
            client_address=client_address,
            detail={**detail, "run": run.pk, **_counts(rows)},
        )
    return run


def _check_correction(
    company: Company, kind: str, year: int, corrects: DocumentRun | None, correction: str
) -> None:
    if (corrects is None) != (correction == Correction.NONE):
        raise RunProblem(_("A correction names the run it corrects."), code="correction")
    if corrects is not None and (
        corrects.company_id != company.pk or corrects.kind != kind or corrects.year != year
    ):
        raise RunProblem(
            _("A correction must be of the same company, document and year."), code="correction"
        )


def _row(
    run: DocumentRun, item: Any, matcher: Matcher, kana: frozenset[int], all_dependents: bool
) -> RunRow:
    found = matcher.match(item, all_dependents=all_dependents)
    problems = [checks.problem("input", message=item.error)] if item.error else []
    problems += checks.text_problems(item.values, kana)
    if item.code.strip() and found.state == MatchState.TO_CONFIRM:
        problems.append(checks.problem("code_unknown"))
    return RunRow(
        run=run,
        line=item.line,
        values=item.values,
        label=(item.name or item.code)[:200],
        person_id=found.person_id,
        match=found.state,
        relatives=found.relatives,
        problems=problems,
    )


def _counts(rows: Sequence[RunRow]) -> dict[str, int]:
    blocked = sum(1 for row in rows if checks.is_blocked(row.problems))
    return {"rows": len(rows), "blocked": blocked}


def refresh(run: DocumentRun) -> None:
    """Check a prepared run's rows again (a number stored since, a purpose notified)."""
    rows = list(run.rows.all())
    checks.check_rows(run.company, rows, kind_of(run).purpose)
    RunRow.objects.bulk_update(rows, ["problems"], batch_size=500)


def _editable(run: DocumentRun) -> None:
    if run.status not in (RunStatus.PREPARED, RunStatus.FAILED):
        raise RunProblem(_("This run has been produced: prepare a new one."), code="run_state")


def set_row_match(
    *,
    acting_user: User | Actor,
    row: RunRow,
    confirm: bool,
    client_address: str = "",
) -> None:
    """A handler confirms a row matched by name and birth date, or leaves a row out."""
    actor = as_actor(acting_user)
    run = row.run
    action = Action.DOCUMENT_ROW_CONFIRM if confirm else Action.DOCUMENT_ROW_EXCLUDE
    detail = {"run": run.pk, "line": row.line}
    require(
        actor,
        run.company,
        Capability.DOCUMENTS_PREPARE,
        action,
        detail=detail,
        client_address=client_address,
    )
    _editable(run)
    if confirm and (row.person_id is None or row.match != MatchState.TO_CONFIRM):
        raise RunProblem(_("Only a row matched by name and birth date is confirmed."))
    with transaction.atomic():
        row.match = MatchState.CONFIRMED if confirm else MatchState.EXCLUDED
        checks.check_rows(run.company, [row], kind_of(run).purpose)
        row.save(update_fields=["match", "problems"])
        audit.record(
            actor=actor,
            action=action,
            company_id=run.company_id,
            person_id=row.person_id,
            client_address=client_address,
            detail=detail,
        )


def _may_provide(
    actor: Actor, run: DocumentRun, action: str, detail: dict[str, Any], client_address: str
) -> None:
    """Whether the actor may put the run's numbers in a file (produce) or take that file
    (download): the vault's own decision for its purpose, its refusal audited durably."""
    purpose = kind_of(run).purpose
    decision = decide(actor, run.company, Operation.PROVIDE, purpose=purpose)
    if not decision.allowed:
        api.audit_durably(
            actor,
            action,
            run.company,
            None,
            outcome=Outcome.REFUSED,
            reason=decision.reason,
            purpose=purpose,
            client_address=client_address,
            detail=detail,
        )
        raise Refused(decision.message, code=decision.reason)


def start_production(
    *, acting_user: User | Actor, run: DocumentRun, client_address: str = ""
) -> str:
    """Queue the run's production; the password of its archive, to show once and never
    again. Who may provide numbers for the document's purpose is decided here (and again by
    the vault when the numbers are read)."""
    actor = as_actor(acting_user)
    spec = kind_of(run)
    detail = {"run": run.pk, "document": run.kind, "year": run.year}
    _may_provide(actor, run, Action.DOCUMENT_PRODUCE, detail, client_address)
    password = output.new_password()
    with api.vault_transaction():
        locked = DocumentRun.objects.select_for_update().get(pk=run.pk)
        _editable(locked)
        if not any(
            not checks.is_blocked(p) for p in locked.rows.values_list("problems", flat=True)
        ):
            raise RunProblem(_("No row can be produced: see the problems listed."), code="nothing")
        ref = secrets.token_hex(16)
        locked.password_key_ref = ref
        locked.password_sealed = api.seal_secret(
            ref, run.company_id, f"run:{run.pk}", password.encode("ascii")
        )
        locked.status = RunStatus.PRODUCING
        locked.produced_by_id = actor.id if actor.kind == "user" else None
        task = tasks.enqueue(
            PRODUCE_TARGET,
            kwargs={"run_id": run.pk},
            label=str(spec.label),
            company_id=run.company_id,
            created_by_id=locked.produced_by_id,
        )
        locked.task_id = task.pk
        locked.save()
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_PRODUCE,
            company_id=run.company_id,
            purpose=spec.purpose,
            client_address=client_address,
            detail=detail,
        )
    run.refresh_from_db()
    return password


def download_archive(
    *, acting_user: User | Actor, run: DocumentRun, client_address: str = ""
) -> str:
    """The name of the run's encrypted archive, for a handler who may provide its numbers;
    one audit entry per person whose number is in it (every download is a provision)."""
    actor = as_actor(acting_user)
    spec = kind_of(run)
    detail = {"run": run.pk, "document": run.kind, "year": run.year}
    _may_provide(actor, run, Action.DOCUMENT_DOWNLOAD, detail, client_address)
    if not run.output_name or (run.output_expires_at and run.output_expires_at < timezone.now()):
        raise RunProblem(_("The archive is no longer kept: produce the run again."), code="expired")
    people = list(run.provided.values_list("person_id", flat=True))
    with transaction.atomic():
        audit.record_many(
            [
                {
                    "actor": actor,
                    "action": Action.DOCUMENT_DOWNLOAD,
                    "company_id": run.company_id,
                    "person_id": person_id,
                    "purpose": spec.purpose,
                    "client_address": client_address,
                    "detail": detail,
                }
                for person_id in people
            ]
        )
    return run.output_name


def download_copies(
    *, acting_user: User | Actor, run: DocumentRun, client_address: str = ""
) -> str:
    """The name of the recipients' copies (no number), for anyone who sees the runs."""
    actor = as_actor(acting_user)
    detail = {"run": run.pk, "document": run.kind, "year": run.year}
    require(
        actor,
        run.company,
        Capability.DOCUMENTS_VIEW,
        Action.DOCUMENT_COPIES_DOWNLOAD,
        detail=detail,
        client_address=client_address,
    )
    if not run.copies_name:
        raise RunProblem(_("This run has no recipients' copies."), code="no_copies")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_COPIES_DOWNLOAD,
            company_id=run.company_id,
            client_address=client_address,
            detail=detail,
        )
    return run.copies_name


def mark_submitted(
    *,
    acting_user: User | Actor,
    run: DocumentRun,
    submitted_on: date,
    method: str,
    client_address: str = "",
) -> None:
    actor = as_actor(acting_user)
    detail = {"run": run.pk, "document": run.kind, "year": run.year, "method": method}
    require(
        actor,
        run.company,
        Capability.DOCUMENTS_SUBMIT,
        Action.DOCUMENT_SUBMIT,
        detail=detail,
        client_address=client_address,
    )
    if method not in SubmissionMethod.values:
        raise RunProblem(_("Choose how it was submitted."), code="method")
    if submitted_on > timezone.localdate():
        raise RunProblem(_("The submission date is in the future."), code="date")
    with transaction.atomic():
        locked = DocumentRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.PRODUCED:
            raise RunProblem(_("Only a produced run is marked submitted."), code="run_state")
        if locked.produced_at and submitted_on < timezone.localtime(locked.produced_at).date():
            raise RunProblem(_("The submission date is before the run was produced."))
        locked.status = RunStatus.SUBMITTED
        locked.submitted_on = submitted_on
        locked.submission_method = method
        locked.submitted_by_id = actor.id if actor.kind == "user" else None
        locked.save()
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_SUBMIT,
            company_id=run.company_id,
            client_address=client_address,
            detail={**detail, "on": submitted_on.isoformat()},
        )
    run.refresh_from_db()


def withdraw(
    *, acting_user: User | Actor, run: DocumentRun, note: str = "", client_address: str = ""
) -> None:
    """A run that will not be submitted (or was replaced by a correction) is withdrawn; its
    archive is deleted. The provision record stays: the numbers did go into a file."""
    actor = as_actor(acting_user)
    detail = {"run": run.pk, "document": run.kind, "year": run.year}
    require(
        actor,
        run.company,
        Capability.DOCUMENTS_SUBMIT,
        Action.DOCUMENT_WITHDRAW,
        detail=detail,
        client_address=client_address,
    )
    with transaction.atomic():
        locked = DocumentRun.objects.select_for_update().get(pk=run.pk)
        if locked.status in (RunStatus.WITHDRAWN, RunStatus.PRODUCING):
            raise RunProblem(_("This run cannot be withdrawn now."), code="run_state")
        name = locked.output_name
        locked.status = RunStatus.WITHDRAWN
        locked.withdrawn_at = timezone.now()
        locked.withdrawn_by_id = actor.id if actor.kind == "user" else None
        locked.note = note.strip()[:500]
        locked.output_name = ""
        locked.save()
        audit.record(
            actor=actor,
            action=Action.DOCUMENT_WITHDRAW,
            company_id=run.company_id,
            client_address=client_address,
            detail=detail,
        )
        transaction.on_commit(lambda: output.remove(name))
    run.refresh_from_db()


def documents_of(person_id: int) -> list[ProvidedPerson]:
    """Every document that carried the person's number, and where it went (person page)."""
    return list(
        ProvidedPerson.objects.filter(person_id=person_id)
        .select_related("run")
        .order_by("-run__produced_at")
    )
