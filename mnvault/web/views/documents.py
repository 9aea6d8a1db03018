"""The documents area (利用・提供): runs of statutory documents made from payroll data without
numbers, their problems, production into an encrypted archive and the provision ledger.

Every action is the service's (mnvault.usage.runs), which checks the role and audits; these
views only show and forward. The archive's password is shown once, on the response page of
the POST that started production — never on a GET, in a URL or a log. Downloads are POSTs,
so that no link followed by a browser or a crawler is a provision of numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.scheduler.models import Task
from mnvault.usage import checks, ledger, output, runs
from mnvault.usage.kinds import KINDS
from mnvault.usage.models import (
    DocumentRun,
    MatchState,
    Recipient,
    RunRow,
    RunStatus,
    SubmissionMethod,
)
from mnvault.vault.errors import Refused, VaultError
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.documents_forms import NewRunForm, SubmitForm
from mnvault.web.reauth import is_recent, session_actor, to_confirmation

JST = ZoneInfo("Asia/Tokyo")
ROWS_SHOWN = 500  # rows with problems listed on a run's page; the rest are counted
REFRESH_SECONDS = 2


def kind_label(code: str) -> str:
    spec = KINDS.get(code)
    return str(spec.label) if spec else code


def _address(request: CompanyRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _run(request: CompanyRequest, run_id: int) -> DocumentRun:
    return get_object_or_404(DocumentRun, pk=run_id, company=request.company)


def _run_url(request: CompanyRequest, run_id: int) -> str:
    return reverse("web:document_run", args=[request.company.pk, run_id])


# The runs and the provision ledger.


@require_GET
@company_page(capability=C.DOCUMENTS_VIEW)
def runs_list(request: CompanyRequest) -> HttpResponse:
    shown = list(ledger.runs_of(request.company))
    for run in shown:
        run.stale = ledger.is_stale(run)  # type: ignore[attr-defined]
        run.kind_label = kind_label(run.kind)  # type: ignore[attr-defined]
    context = {
        "runs": shown,
        "stale": [run for run in shown if run.stale],  # type: ignore[attr-defined]
        "stale_days": ledger.STALE_DAYS,
        "may_prepare": can(request.roles, C.DOCUMENTS_PREPARE),
    }
    return render(request, "web/documents/runs.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_header() -> list[str]:
    return [
        str(label)
        for label in (
            _("Run"),
            _("Document"),
            _("Year"),
            _("Recipient"),
            _("Recipient detail"),
            _("Status"),
            _("Prepared by"),
            _("Prepared at (JST)"),
            _("Produced by"),
            _("Produced at (JST)"),
            _("Submitted on"),
            _("Method"),
            _("People provided"),
        )
    ]


def _when(value: datetime | None) -> str:
    return timezone.localtime(value, JST).isoformat(timespec="seconds") if value else ""


def _cell(value: object) -> object:
    """As in the audit export: text a spreadsheet would run as a formula gets a quote."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def _csv_values(run: Any) -> list[object]:
    return [
        run.pk,
        kind_label(run.kind),
        run.year,
        str(Recipient(run.recipient).label) if run.recipient in Recipient.values else run.recipient,
        run.recipient_detail,
        str(RunStatus(run.status).label),
        run.created_by.get_username() if run.created_by else "",
        _when(run.created_at),
        run.produced_by.get_username() if run.produced_by else "",
        _when(run.produced_at),
        run.submitted_on.isoformat() if run.submitted_on else "",
        str(SubmissionMethod(run.submission_method).label) if run.submission_method else "",
        run.provided_count,
    ]


def csv_lines(header: list[str], rows: Iterable[Any]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for run in rows:
        yield writer.writerow([_cell(v) for v in _csv_values(run)])


@never_cache
@require_GET
@company_page(capability=C.DOCUMENTS_VIEW)
def ledger_csv(request: CompanyRequest) -> HttpResponseBase:
    """The provision ledger as CSV: counts of people, never a number. Recorded in the log."""
    found = ledger.export_ledger(
        acting_user=request.user, company=request.company, client_address=_address(request)
    )
    response = StreamingHttpResponse(
        csv_lines(_csv_header(), found.iterator()), content_type="text/csv; charset=utf-8"
    )
    stamp = datetime.now(JST).strftime("%Y%m%d-%H%M%S")
    filename = f"provision-ledger-company{request.company.pk}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# A new run.


@company_page(capability=C.DOCUMENTS_PREPARE)
def run_new(request: CompanyRequest) -> HttpResponse:
    form = NewRunForm(request.POST or None, request.FILES or None, company=request.company)
    status = 200
    if request.method == "POST":
        if "file" in getattr(request, "too_large_uploads", set()):
            form.add_error(None, _("The file is too large."))
        if form.is_valid():
            try:
                run = _prepare(request, form.cleaned_data)
            except Refused as refused:
                form.add_error(None, str(refused))
                status = 403
            except VaultError as problem:  # UnreadableFile, RunProblem: the message says why
                form.add_error(None, str(problem))
                status = 400
            else:
                return redirect("web:document_run", request.company.pk, run.pk)
        else:
            status = 400
    context = {"form": form, "kinds": list(KINDS.values())}
    return render(request, "web/documents/new.html", context, status=status)


def _prepare(request: CompanyRequest, data: dict[str, Any]) -> DocumentRun:
    upload = data["file"]
    corrects = data.get("corrects_run")
    return runs.prepare_run(
        acting_user=request.user,
        company=request.company,
        kind=data["kind"],
        year=data["year"],
        data=upload.read(),
        source_name=upload.name or "",
        recipient_detail=data["recipient_detail"],
        payer_address=data["payer_address"],
        payer_phone=data["payer_phone"],
        corrects=corrects,
        correction=data["correction"] if corrects else "",
        client_address=_address(request),
    )


# One run.


@dataclass
class ShownProblem:
    label: str
    column: int | None = None
    char: str = ""
    suggestion: str = ""
    relative: int | None = None
    blocking: bool = False


@dataclass
class ShownRow:
    pk: int
    line: int
    label: str
    person_id: int | None
    match: str
    match_label: str
    blocked: bool
    problems: list[ShownProblem]


def _shown(row: Mapping[str, Any]) -> ShownRow:
    problems = [
        ShownProblem(
            label=checks.label(p),
            column=p.get("column"),
            char=p.get("char", ""),
            suggestion=p.get("suggestion", ""),
            relative=p.get("relative"),
            blocking=p.get("code") in checks.BLOCKING,
        )
        for p in row["problems"]
    ]
    return ShownRow(
        pk=row["pk"],
        line=row["line"],
        label=row["label"],
        person_id=row["person_id"],
        match=row["match"],
        match_label=str(MatchState(row["match"]).label),
        blocked=checks.is_blocked(row["problems"]),
        problems=problems,
    )


def _rows(run: DocumentRun) -> tuple[list[ShownRow], dict[str, int]]:
    """Rows with a problem, blocked ones first, and the counts of the whole run."""
    values = run.rows.values("pk", "line", "label", "person_id", "match", "problems")
    everything = [_shown(row) for row in values]
    counts = {
        "rows": len(everything),
        "blocked": sum(1 for r in everything if r.blocked),
        "warned": sum(1 for r in everything if r.problems and not r.blocked),
    }
    counts["ready"] = counts["rows"] - counts["blocked"]
    listed = sorted((r for r in everything if r.problems), key=lambda r: (not r.blocked, r.line))
    return listed, counts


def _task(run: DocumentRun) -> Task | None:
    return Task.objects.filter(pk=run.task_id).first() if run.task_id else None


def _run_context(request: CompanyRequest, run: DocumentRun) -> dict[str, Any]:
    listed, counts = _rows(run)
    spec = KINDS.get(run.kind)
    editable = run.status in (RunStatus.PREPARED, RunStatus.FAILED)
    producing = run.status == RunStatus.PRODUCING
    archive_kept = bool(run.output_name) and (
        run.output_expires_at is None or run.output_expires_at > timezone.now()
    )
    return {
        "run": run,
        "spec": spec,
        "kind_label": kind_label(run.kind),
        "rows": listed[:ROWS_SHOWN],
        "rows_hidden": max(0, len(listed) - ROWS_SHOWN),
        "counts": counts,
        "task": _task(run) if producing else None,
        "producing": producing,
        "refresh_seconds": REFRESH_SECONDS,
        "editable": editable,
        "stale": ledger.is_stale(run),
        "stale_days": ledger.STALE_DAYS,
        "archive_kept": archive_kept,
        "may_prepare": can(request.roles, C.DOCUMENTS_PREPARE) and editable,
        "may_produce": can(request.roles, C.NUMBER_PROVIDE),
        "may_submit": can(request.roles, C.DOCUMENTS_SUBMIT),
        "submit_form": SubmitForm(initial={"submitted_on": timezone.localdate()}),
        "withdrawable": run.status not in (RunStatus.WITHDRAWN, RunStatus.PRODUCING),
        "corrections": list(run.corrections.order_by("pk")),
    }


def _render_run(
    request: CompanyRequest, run: DocumentRun, *, error: str = "", status: int = 200, **extra: Any
) -> HttpResponse:
    context = {**_run_context(request, run), "error": error, **extra}
    response = render(request, "web/documents/run.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@company_page(capability=C.DOCUMENTS_VIEW)
def run_page(request: CompanyRequest, run_id: int) -> HttpResponse:
    return _render_run(request, _run(request, run_id))


def _failed(request: CompanyRequest, run: DocumentRun, failure: VaultError) -> HttpResponse:
    status = 403 if isinstance(failure, Refused) else 400
    return _render_run(request, run, error=str(failure), status=status)


@require_POST
@company_page(capability=C.DOCUMENTS_PREPARE)
def run_row(request: CompanyRequest, run_id: int, row_id: int) -> HttpResponse:
    run = _run(request, run_id)
    row = get_object_or_404(RunRow, pk=row_id, run=run)
    try:
        runs.set_row_match(
            acting_user=request.user,
            row=row,
            confirm=request.POST.get("action") == "confirm",
            client_address=_address(request),
        )
    except VaultError as failure:
        return _failed(request, run, failure)
    return redirect(f"{_run_url(request, run.pk)}#rows")


@require_POST
@company_page(capability=C.DOCUMENTS_PREPARE)
def run_refresh(request: CompanyRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if run.status not in (RunStatus.PREPARED, RunStatus.FAILED):
        return _render_run(request, run, error=_("Only a run not produced is checked again."))
    runs.refresh(run)
    return _render_run(request, run, checked=True)


def _stale_sign_in(request: CompanyRequest) -> bool:
    """A handler whose sign-in is too old confirms it before the vault is asked; a role that
    may not provide at all goes on to the service, which refuses it and audits the refusal."""
    return can(request.roles, C.NUMBER_PROVIDE) and not is_recent(request)


def _provide(
    request: CompanyRequest, run: DocumentRun, service: Callable[..., str]
) -> str | HttpResponseBase:
    """Call a service that puts the run's numbers in a file (produce, download): its result,
    or the page to show instead — the sign-in confirmation when it is too old, or the refusal."""
    if _stale_sign_in(request):
        return to_confirmation(request, _run_url(request, run.pk))
    try:
        return service(
            acting_user=session_actor(request), run=run, client_address=_address(request)
        )
    except Refused as refused:
        if refused.code == "reauthenticate":
            return to_confirmation(request, _run_url(request, run.pk))
        return _failed(request, run, refused)
    except VaultError as failure:
        return _failed(request, run, failure)


@never_cache
@require_POST
@sensitive_variables("password")
@company_page(capability=C.DOCUMENTS_VIEW)
def run_produce(request: CompanyRequest, run_id: int) -> HttpResponseBase:
    """Starts production and shows the archive's password, on this response only."""
    run = _run(request, run_id)
    password = _provide(request, run, runs.start_production)
    if isinstance(password, HttpResponseBase):
        return password
    response = render(request, "web/documents/password.html", {"run": run, "password": password})
    response["Cache-Control"] = "no-store"
    return response


def _file(name: str, filename: str, content_type: str) -> FileResponse:
    try:
        handle = output.path_of(name).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=filename)
    response["Content-Type"] = content_type
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_POST
@company_page(capability=C.DOCUMENTS_VIEW)
def run_archive(request: CompanyRequest, run_id: int) -> HttpResponseBase:
    """The encrypted archive with numbers: every download is a provision, audited per person."""
    run = _run(request, run_id)
    name = _provide(request, run, runs.download_archive)
    if isinstance(name, HttpResponseBase):
        return name
    return _file(name, f"mnvault-{run.kind}-{run.year}-run{run.pk}.zip", "application/zip")


@never_cache
@require_POST
@company_page(capability=C.DOCUMENTS_VIEW)
def run_copies(request: CompanyRequest, run_id: int) -> HttpResponseBase:
    run = _run(request, run_id)
    try:
        name = runs.download_copies(
            acting_user=request.user, run=run, client_address=_address(request)
        )
    except VaultError as failure:
        return _failed(request, run, failure)
    filename = f"mnvault-{run.kind}-{run.year}-run{run.pk}-copies.pdf"
    return _file(name, filename, "application/pdf")


@require_POST
@company_page(capability=C.DOCUMENTS_SUBMIT)
def run_submit(request: CompanyRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return _render_run(request, run, status=400, submit_form=form)
    try:
        runs.mark_submitted(
            acting_user=request.user,
            run=run,
            submitted_on=form.cleaned_data["submitted_on"],
            method=form.cleaned_data["method"],
            client_address=_address(request),
        )
    except VaultError as failure:
        return _failed(request, run, failure)
    messages.success(request, _("Marked as submitted."))
    return redirect("web:document_run", request.company.pk, run.pk)


@require_POST
@company_page(capability=C.DOCUMENTS_SUBMIT)
def run_withdraw(request: CompanyRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if not request.POST.get("confirm"):  # one click must not delete an archive
        return _render_run(
            request, run, error=_("Tick the box to confirm the withdrawal."), status=400
        )
    try:
        runs.withdraw(
            acting_user=request.user,
            run=run,
            client_address=_address(request),
        )
    except VaultError as failure:
        return _failed(request, run, failure)
    messages.success(request, _("The run was withdrawn."))
    return redirect("web:document_run", request.company.pk, run.pk)
