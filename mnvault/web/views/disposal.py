"""Disposal (廃棄) pages: the queue of people whose numbers are due, proposing a batch, the
second person's approval, the certificate (削除証明書) and the year's declarations. Every
decision is the retention service's (two-person rule, holds, roles); the pages show its
refusals as they are, with 403 for a refused role and the message naming the hold otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.people.models import Person
from mnvault.retention import person_certificates, rules, services
from mnvault.retention.models import BatchStatus, Declaration, DisposalBatch, DisposalItem
from mnvault.vault.errors import Refused, VaultError
from mnvault.web.company import CompanyRequest, company_page

# People shown as coming due: a deletion "reservation" is just the computed date (issue 12).
SOON_DAYS = 90
BATCHES_SHOWN = 50
MAX_ID_DIGITS = 18
LANGUAGES = ("ja", "en")


@dataclass(frozen=True)
class Row:
    """One person of the queue, with the holds that remain on the day it is looked at."""

    person: Person
    due_on: date | None
    remaining: list[rules.Hold]
    due_now: bool


def _address(request: CompanyRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _ids(values: list[str]) -> list[int]:
    """Row ids as typed into the form: anything else (a superscript digit, a number too long
    for the database) is no one."""
    return [int(v) for v in values if v.isdecimal() and len(v) <= MAX_ID_DIGITS]


def _text(value: str) -> str:
    """Free text for a reason: NUL, which PostgreSQL refuses in a text column, left out."""
    return value.replace("\x00", "")


def _rows(request: CompanyRequest) -> list[Row]:
    today = timezone.localdate()
    return [
        Row(
            person=due.person,
            due_on=due.due_on,
            remaining=rules.remaining(due.holds, today),
            due_now=due.due_on is not None and due.due_on <= today,
        )
        for due in services.due_list(request.company, within_days=SOON_DAYS)
    ]


class ProposeForm(forms.Form):
    dispose_on = forms.DateField(
        label=gettext_lazy("Disposal date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Today, or a later day such as the fiscal year-end."),
    )


@never_cache
@company_page(capability=C.DISPOSAL_VIEW)
def queue(request: CompanyRequest) -> HttpResponse:
    """The queue, and the proposal of a batch from it (the service refuses those who may only
    look, such as the auditor: 403, audited)."""
    form = ProposeForm(request.POST or None, initial={"dispose_on": timezone.localdate()})
    error, status = "", 200
    chosen = _ids(request.POST.getlist("people"))
    reasons = {pk: _text(request.POST.get(f"reason-{pk}", "")) for pk in chosen}
    if request.method == "POST" and form.is_valid():
        people = list(Person.objects.filter(company=request.company, pk__in=chosen))
        try:
            batch = services.propose(
                acting_user=request.user,
                company=request.company,
                people=people,
                dispose_on=form.cleaned_data["dispose_on"],
                early_reasons=reasons,
                client_address=_address(request),
            )
        except Refused as refused:
            error, status = str(refused), 403
        except VaultError as problem:
            error = str(problem)
        else:
            messages.success(request, _("The batch is proposed: another manager approves it."))
            return redirect("web:disposal_batch", request.company.pk, batch.pk)
    batches = DisposalBatch.objects.filter(company=request.company).annotate(people=Count("items"))
    context = {
        # Each row with what was chosen and typed, kept when the page comes back with an error.
        "rows": [
            (row, row.person.pk in reasons, reasons.get(row.person.pk, ""))
            for row in _rows(request)
        ],
        "form": form,
        "error": error,
        "soon_days": SOON_DAYS,
        "batches": batches.select_related("proposed_by").order_by("-pk")[:BATCHES_SHOWN],
        "may_propose": can(request.roles, C.DISPOSAL_PROPOSE),
    }
    return render(request, "web/disposal/queue.html", context, status=status)


def _batch(request: CompanyRequest, batch_id: int) -> DisposalBatch:
    return get_object_or_404(DisposalBatch, pk=batch_id, company=request.company)


@never_cache
@company_page(capability=C.DISPOSAL_VIEW)
def batch_detail(request: CompanyRequest, batch_id: int) -> HttpResponse:
    """A batch, and its approval or rejection by a responsible manager other than the
    proposer (the service decides; a refusal is shown with 403 and stays in the log)."""
    batch = _batch(request, batch_id)
    error, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "reject":
                services.reject(
                    acting_user=request.user,
                    batch=batch,
                    reason=_text(request.POST.get("reason", "")),
                    client_address=_address(request),
                )
            else:
                services.approve(
                    acting_user=request.user, batch=batch, client_address=_address(request)
                )
        except Refused as refused:
            error, status = str(refused), 403
        except VaultError as problem:
            error = str(problem)
        else:
            return redirect("web:disposal_batch", request.company.pk, batch.pk)
        batch.refresh_from_db()
    context = {
        "batch": batch,
        "items": batch.items.select_related("person").order_by("person__pk"),
        "error": error,
        "may_decide": can(request.roles, C.DISPOSAL_APPROVE)
        and batch.status == BatchStatus.PROPOSED,
        "own": batch.proposed_by_id == request.user.pk,
        "languages": LANGUAGES,
    }
    return render(request, "web/disposal/batch.html", context, status=status)


@never_cache
@company_page(capability=C.DISPOSAL_VIEW)
def certificate(request: CompanyRequest, batch_id: int) -> HttpResponse:
    """The certificate PDF in the language asked for (audited by the service)."""
    batch = _batch(request, batch_id)
    language = request.GET.get("language", "ja")
    if language not in LANGUAGES or batch.status != BatchStatus.DONE:
        raise Http404
    try:
        pdf = services.certificate_pdf(
            acting_user=request.user,
            batch=batch,
            language=language,
            client_address=_address(request),
        )
    except Refused as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{batch.certificate_number}-{language}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@company_page(capability=C.DISPOSAL_VIEW)
def person_certificate(request: CompanyRequest, batch_id: int, item_id: int) -> HttpResponse:
    """One person's own certificate (naming only them), for the person or an authority that
    asks; made on the first request, audited by the service at every download."""
    batch = _batch(request, batch_id)
    item = get_object_or_404(DisposalItem.objects.select_related("batch"), pk=item_id, batch=batch)
    language = request.GET.get("language", "ja")
    if language not in LANGUAGES or batch.status != BatchStatus.DONE:
        raise Http404
    try:
        pdf = person_certificates.person_certificate_pdf(
            acting_user=request.user, item=item, language=language, client_address=_address(request)
        )
    except Refused as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{batch.certificate_number}-P{item.pk}-{language}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _this_year() -> int:
    return timezone.localdate().year


class DeclarationsForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year (分)"), min_value=2016)
    without_numbers = forms.BooleanField(
        label=gettext_lazy("Filed without numbers (the company keeps a number register)"),
        required=False,
    )

    def clean_year(self) -> int:
        year: int = self.cleaned_data["year"]
        if year > _this_year() + 1:
            raise forms.ValidationError(_("The year is too far ahead."))
        return year


@company_page(capability=C.DISPOSAL_PROPOSE)
def declarations(request: CompanyRequest) -> HttpResponse:
    """One button for the year's 扶養控除等申告書 of everyone on the payroll that year: each
    keeps their numbers until (Y+8)-01-10 (domain R25, R26)."""
    form = DeclarationsForm(request.POST or None, initial={"year": _this_year()})
    status = 200
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["year"]
        try:
            made = services.record_declarations(
                acting_user=request.user,
                company=request.company,
                year=year,
                without_numbers=form.cleaned_data["without_numbers"],
                client_address=_address(request),
            )
        except Refused as refused:
            form.add_error(None, str(refused))
            status = 403
        except VaultError as problem:
            form.add_error(None, str(problem))
        else:
            messages.success(
                request,
                _("Declarations for %(year)d recorded for %(n)d employees.")
                % {"year": year, "n": made},
            )
            return redirect("web:disposal_declarations", request.company.pk)
    years = (
        Declaration.objects.filter(company=request.company)
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by("-year")
    )
    context = {"form": form, "years": list(years)}
    return render(request, "web/disposal/declarations.html", context, status=status)


def due_count(request: CompanyRequest) -> int | None:
    """For the dashboard: how many are due now, for those who see disposals."""
    if not can(request.roles, C.DISPOSAL_VIEW):
        return None
    return len(services.due_list(request.company))


def retention_of(person: Person) -> dict[str, object]:
    """The person page's retention section: each hold and the computed date."""
    held = services.holds_of(person)
    return {"holds": held, "due_on": rules.disposal_date(held)}
