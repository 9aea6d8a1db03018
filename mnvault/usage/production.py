"""Producing a run, in the background (``scheduler.tasks``): the numbers read from the vault in
batches, each batch's audit entries in its own transaction, and the files written straight
into the encrypted archive, so neither memory nor the disk ever holds the whole in clear.

A batch is the unit of "all or none" at the vault: should a later batch be refused (someone's
number disposed meanwhile), the earlier batches' numbers were read and are in the log, the
archive is deleted, and the run is marked failed for a person to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.people.models import Person
from mnvault.scheduler import tasks
from mnvault.usage import checks, output
from mnvault.usage.kinds import KINDS
from mnvault.usage.kinds.base import Checked, Context
from mnvault.usage.models import DocumentRun, MatchState, ProvidedPerson, ProvidedRole, RunStatus
from mnvault.vault import api
from mnvault.vault.provision import provide_numbers

log = logging.getLogger("mnvault.usage")
BATCH = 1000  # people per vault call
USABLE = (MatchState.BY_CODE, MatchState.CONFIRMED)


def checked_rows(run: DocumentRun) -> list[Checked]:
    """The rows that go into the file: matched, with no blocking problem. Relatives with a
    problem of their own are kept as None (their number left blank)."""
    chosen = []
    for line, values, person_id, relatives, problems, match in run.rows.values_list(
        "line", "values", "person_id", "relatives", "problems", "match"
    ):
        if person_id is None or match not in USABLE or checks.is_blocked(problems):
            continue
        blank = {p["relative"] - 1 for p in problems if p["code"].startswith("relative_")}
        kept = [None if i in blank else pk for i, pk in enumerate(relatives)]
        chosen.append(Checked(line, values, person_id, kept))
    return chosen


def context_of(run: DocumentRun) -> Context:
    company = run.company
    return Context(
        run_id=run.pk,
        year=run.year,
        company_name=company.name,
        company_address=run.payer_address,
        corporate_number=company.corporate_number or "",
        company_phone=run.payer_phone,
        correction=run.correction,
    )


def _people(rows: list[Checked]) -> Iterator[tuple[int, str]]:
    for row in rows:
        yield row.person_id, ProvidedRole.SUBJECT
        for pk in row.relatives:
            if pk is not None:
                yield pk, ProvidedRole.RELATIVE


def produce(*, task_id: int, run_id: int) -> dict[str, int]:
    """The task: read the numbers, write the archive and the recipients' copies."""
    run = DocumentRun.objects.select_related("company").get(pk=run_id)
    if run.status != RunStatus.PRODUCING or run.produced_by_id is None:
        return {"skipped": 1}
    try:
        return _produce(task_id, run)
    except Exception:
        _fail(run)
        raise


def _produce(task_id: int, run: DocumentRun) -> dict[str, int]:
    spec = KINDS[run.kind]
    context = context_of(run)
    checked = checked_rows(run)
    rows = spec.included(context, checked)
    roles = dict(_people(rows))
    password = _password(run)
    assert run.produced_by is not None  # checked by produce()
    actor = Actor.of(run.produced_by)
    numbers: dict[int, str] = {}
    ids = list(roles)
    total = len(ids)
    for start in range(0, total, BATCH):
        people = list(Person.objects.filter(pk__in=ids[start : start + BATCH]))
        numbers.update(
            provide_numbers(
                acting_user=actor,
                company=run.company,
                people=people,
                purpose=spec.purpose,
                detail={"run": run.pk, "document": run.kind, "year": run.year},
            )
        )
        tasks.report_progress(task_id, min(start + BATCH, total), total * 2)
    name = output.new_file_name(run.pk, "zip")
    with output.encrypted_archive(name, password) as sink:
        summary = spec.write(context, rows, numbers, sink)
    # Rows checked but not required (R34's thresholds): their numbers were never read.
    summary["not_required"] = len(checked) - len(rows)
    numbers.clear()
    copies = ""
    if spec.copies is not None:
        copies = output.new_file_name(run.pk, "pdf")
        with output.private_file(copies) as handle:
            spec.copies(context, rows, handle)
    tasks.report_progress(task_id, total * 2, total * 2)
    _finish(run, name, copies, summary, roles)
    return {"rows": len(rows), "numbers": total}


def _password(run: DocumentRun) -> str:
    with api.vault_transaction():
        blob = DocumentRun.objects.values_list("password_sealed", flat=True).get(pk=run.pk)
        if blob is None:
            raise RuntimeError("the run's password is gone")
        return api.open_secret(run.password_key_ref, run.company_id, f"run:{run.pk}", blob).decode(
            "ascii"
        )


def _finish(run: DocumentRun, name: str, copies: str, summary: dict, roles: dict[int, str]) -> None:
    ref = run.password_key_ref
    with transaction.atomic():
        ProvidedPerson.objects.bulk_create(
            [ProvidedPerson(run=run, person_id=pk, role=role) for pk, role in roles.items()],
            batch_size=500,
        )
        DocumentRun.objects.filter(pk=run.pk).update(
            status=RunStatus.PRODUCED,
            produced_at=timezone.now(),
            output_name=name,
            output_expires_at=output.expiry(),
            copies_name=copies,
            summary=summary,
            password_sealed=None,
            password_key_ref="",
        )
        audit.record(
            actor=Actor.system("documents"),
            action=Action.DOCUMENT_PRODUCED,
            company_id=run.company_id,
            detail={
                "run": run.pk,
                "document": run.kind,
                "year": run.year,
                "numbers": len(roles),
            },
        )
    # The password's key goes once the run no longer points at it: nothing, the server
    # included, can open the archive after this.
    api.destroy_key(ref)


def _fail(run: DocumentRun) -> None:
    ref = run.password_key_ref
    with transaction.atomic():
        DocumentRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, password_sealed=None, password_key_ref=""
        )
        audit.record(
            actor=Actor.system("documents"),
            action=Action.DOCUMENT_PRODUCED,
            outcome=Outcome.FAILED,
            company_id=run.company_id,
            detail={"run": run.pk, "document": run.kind, "year": run.year},
        )
    if ref:
        api.destroy_key(ref)
