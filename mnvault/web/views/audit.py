"""The audit log of one company for its responsible managers and auditors (domain R3, R7, R19):
entries filtered and paged, exported as CSV, and the whole chain verified on request.

Exporting and verifying are themselves recorded ("audit.export", "audit.verify"), so the log
shows who took a copy of it out and who checked it. Merely viewing is not recorded: it shows
nothing that is not already in the log.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mnvault.accounts.models import User
from mnvault.audit.actions import action_label, reason_label
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.audit.verify import VerifyResult
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.domain.roles import Capability as C
from mnvault.oversight import audit_log
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.safe_forms import SafeForm

PAGE_SIZE = 50
JST = ZoneInfo("Asia/Tokyo")
PICKER_SIZE = 20  # people offered by the name picker
CSV_CHUNK = 2000  # rows fetched at a time while streaming: memory stays flat

OUTCOME_LABELS: dict[str, Promise] = {
    Outcome.OK: _("Succeeded"),
    Outcome.REFUSED: _("Refused"),
    Outcome.FAILED: _("Failed"),
}


def purpose_label(code: str) -> str:
    return str(Purpose(code).label) if code in Purpose.values else code


def outcome_label(code: str) -> str:
    return str(OUTCOME_LABELS.get(code, code))


def _no_digits(value: str) -> None:
    """A name has no digits; refusing them keeps every number out of the filters, and so out
    of the ``audit.export`` entry that records them."""
    if any(ch.isdigit() for ch in value):
        raise forms.ValidationError(
            _("A name has no digits; to choose a person by id, use Person ID.")
        )


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(SafeForm):
    """The filters of the page and of the CSV export, validated into ``AuditFilters``."""

    person = forms.IntegerField(label=_("Person ID"), required=False, min_value=1)
    person_name = forms.CharField(
        label=_("Person's name or kana"),
        required=False,
        max_length=100,
        validators=[_no_digits],
    )
    actor = forms.CharField(
        label=_("Actor (user name)"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"list": "actor-names", "autocomplete": "off"}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    since = forms.DateField(label=_("Date from"), required=False, widget=DateInput)
    until = forms.DateField(label=_("Date to"), required=False, widget=DateInput)

    def __init__(self, data, *, company_id: int) -> None:
        super().__init__(data)
        self.company_id = company_id
        every = [("", _("All"))]
        action, outcome = self.fields["action"], self.fields["outcome"]
        assert isinstance(action, forms.ChoiceField) and isinstance(outcome, forms.ChoiceField)
        action.choices = every + [
            (code, action_label(code)) for code in audit_log.actions_present(company_id)
        ]
        outcome.choices = every + [(k, str(v)) for k, v in OUTCOME_LABELS.items()]

    def clean_actor(self) -> User | None:
        name = self.cleaned_data["actor"].strip()
        if not name:
            return None
        user = audit_log.company_user(self.company_id, name)
        if user is None:
            raise forms.ValidationError(_("No user of this company has this name."))
        return user

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> audit_log.AuditFilters:
        data = self.cleaned_data
        return audit_log.AuditFilters(
            person_id=data["person"],
            person_name=data["person_name"].strip(),
            actor=data["actor"],
            action=data["action"],
            outcome=data["outcome"],
            since=data["since"],
            until=data["until"],
        )


def _holds_number(request: HttpRequest) -> bool:
    return any(numbers.holds_number(v) for vs in request.GET.lists() for v in vs[1])


def _refuse_number(request: CompanyRequest) -> HttpResponse:
    """As on the people list: never a number as a search key, and never echoed back. The user
    is sent to a clean address, so the number stays out of the page and the history."""
    messages.error(request, _("Filtering by individual number is not possible."))
    return redirect("web:audit", request.company.pk)


def full_names(entries: Iterable[AuditEntry]) -> dict[int, str]:
    """The full name of each user who acted in ``entries``, by id: the log keeps the user
    name at the time; the name beside it is read from the account."""
    ids = {e.actor_id for e in entries if e.actor_kind == "user" and e.actor_id is not None}
    users = User.objects.filter(pk__in=ids).only("first_name", "last_name")
    return {user.pk: name for user in users if (name := user.get_full_name())}


def actor_full_name(entry: AuditEntry, names: dict[int, str]) -> str:
    if entry.actor_kind != "user" or entry.actor_id is None:
        return ""
    return names.get(entry.actor_id, "")


def _row(entry: AuditEntry, people: dict, names: dict[int, str]) -> dict:
    return {
        "seq": entry.seq,
        "time": timezone.localtime(entry.created_at, JST),
        "actor": entry.actor_label,
        "actor_name": actor_full_name(entry, names),
        "action": action_label(entry.action),
        "action_code": entry.action,
        "person_id": entry.person_id,
        "person": people.get(entry.person_id),
        "purpose": purpose_label(entry.purpose) if entry.purpose else "",
        "outcome": entry.outcome,
        "outcome_label": outcome_label(entry.outcome),
        "reason": reason_label(entry.reason) if entry.reason else "",
        "reason_code": entry.reason,
        "client_address": entry.client_address,
    }


def _export_params(form: AuditFilterForm) -> list[tuple[str, str]]:
    """The filters in force, for the hidden fields of the export form."""
    return [(name, form.data[name]) for name in form.fields if form.data.get(name)]


def _render(
    request: CompanyRequest, form: AuditFilterForm, verified: VerifyResult | None = None
) -> HttpResponse:
    company_id = request.company.pk
    valid = form.is_valid()
    filters = form.filters() if valid else None
    entries = (
        audit_log.company_entries(company_id, filters) if filters else AuditEntry.objects.none()
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page)
    people = audit_log.people_in_company(company_id, {e.person_id for e in shown if e.person_id})
    names = full_names(shown)
    picked = []
    if filters and filters.person_name:
        picked = list(audit_log.people_named(company_id, filters.person_name)[:PICKER_SIZE])
    context = {
        "form": form,
        "valid": valid,
        "page": page,
        "rows": [_row(entry, people, names) for entry in shown],
        "picked": picked,
        "actor_names": audit_log.actor_names(company_id),
        "export_params": _export_params(form) if valid else [],
        "verified": verified,
    }
    return render(request, "web/audit.html", context, status=200 if valid else 400)


@require_GET
@company_page(capability=C.AUDIT_READ)
def audit_page(request: CompanyRequest) -> HttpResponse:
    if _holds_number(request):
        return _refuse_number(request)
    return _render(request, AuditFilterForm(request.GET, company_id=request.company.pk))


@never_cache
@require_POST
@company_page(capability=C.AUDIT_READ)
def audit_verify(request: CompanyRequest) -> HttpResponse:
    result = audit_log.verify_chain(
        acting_user=request.user,
        company=request.company,
        client_address=request.META.get("REMOTE_ADDR", ""),
    )
    return _render(request, AuditFilterForm({}, company_id=request.company.pk), verified=result)


class _Echo:
    """A file-like object that hands back what the csv writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with a quote (CSV
    injection): the log holds labels that users and API clients chose."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_header() -> list[str]:
    return [
        str(label)
        for label in (
            _("No."),
            _("Time (JST)"),
            _("Actor"),
            _("Actor's full name"),
            _("Action"),
            _("Action code"),
            _("Person ID"),
            _("Purpose"),
            _("Outcome"),
            _("Reason"),
            _("Reason code"),
            _("Client address"),
            _("Detail"),
            _("Entry hash"),
        )
    ]


def _csv_values(entry: AuditEntry, names: dict[int, str]) -> list[object]:
    return [
        entry.seq,
        timezone.localtime(entry.created_at, JST).isoformat(timespec="seconds"),
        entry.actor_label,
        actor_full_name(entry, names),
        action_label(entry.action),
        entry.action,
        entry.person_id if entry.person_id is not None else "",
        purpose_label(entry.purpose) if entry.purpose else "",
        outcome_label(entry.outcome),
        reason_label(entry.reason) if entry.reason else "",
        entry.reason,
        entry.client_address,
        json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else "",
        entry.entry_hash,
    ]


def csv_lines(
    header: list[str], entries: Iterable[AuditEntry], names: dict[int, str]
) -> Iterator[str]:
    """The BOM (so that Excel reads UTF-8), the header, then one line per entry; ``names``
    are the actors' full names by user id."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for entry in entries:
        yield writer.writerow([_cell(v) for v in _csv_values(entry, names)])


@never_cache
@require_GET
@company_page(capability=C.AUDIT_READ)
def audit_csv(request: CompanyRequest) -> HttpResponseBase:
    """The filtered entries as CSV, streamed. The export is recorded first, in its own
    transaction with the filters used; the file holds the entries up to that record."""
    if _holds_number(request):
        return _refuse_number(request)
    company_id = request.company.pk
    form = AuditFilterForm(request.GET, company_id=company_id)
    if not form.is_valid():  # the page shows what is wrong, field by field
        return redirect(f"{reverse('web:audit', args=[company_id])}?{request.GET.urlencode()}")
    entries = audit_log.export_entries(
        acting_user=request.user,
        company=request.company,
        filters=form.filters(),
        client_address=request.META.get("REMOTE_ADDR", ""),
    )
    actors = entries.filter(actor_kind="user").values("actor_id")
    names = {
        user.pk: name
        for user in User.objects.filter(pk__in=actors).only("first_name", "last_name")
        if (name := user.get_full_name())
    }
    lines = csv_lines(_csv_header(), entries.iterator(chunk_size=CSV_CHUNK), names)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = datetime.now(JST).strftime("%Y%m%d-%H%M%S")
    filename = f"audit-company{company_id}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
