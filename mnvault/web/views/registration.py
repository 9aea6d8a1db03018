"""The public registration pages, opened on a phone from an invitation; no account.

The link's token is exchanged for a session at the first request and never appears again: the
next page is reached by a same-site refresh, which also lets the strict session cookie
through. Each step needs the ones before it (identity check, purposes notice); what the person
enters is sealed by the vault core at once, and never shown back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from mnvault.audit.actions import Action
from mnvault.collection import dependent_changes, drafts, ratelimit, registration
from mnvault.collection.errors import InvitationClosed
from mnvault.collection.invitations import send_back_reason, settings_of
from mnvault.collection.models import (
    IdentityDocument,
    Invitation,
    Submission,
    SubmittedDependent,
)
from mnvault.collection.registration import LinkState
from mnvault.companies.models import Company
from mnvault.companies.purposes import Purpose
from mnvault.people.models import Person, PersonKind
from mnvault.web.registration_forms import (
    BirthDateForm,
    CodeForm,
    ConfirmForm,
    NoticeForm,
    NumberForm,
)

SESSION = "mnvault_registration"


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


@dataclass
class Flow:
    request: HttpRequest
    invitation: Invitation
    state: dict

    @property
    def person(self) -> Person:
        return Person.objects.get(pk=self.invitation.person_id)

    @property
    def company(self) -> Company:
        return Company.objects.get(pk=self.invitation.company_id)

    @property
    def verified(self) -> bool:
        return bool(self.state.get("birth_date_ok")) and (
            self.state.get("code_ok") or not self.code_required
        )

    @property
    def employee(self) -> bool:
        """Only an employee declares dependents (domain R23); a payee sees no step for them."""
        return registration.is_employee(self.invitation)

    @property
    def dependents_only(self) -> bool:
        """An invitation for dependents only: no number step, no documents step."""
        return self.invitation.dependents_only

    @property
    def code_required(self) -> bool:
        return settings_of(self.company).email_code_required and bool(self.invitation.email)

    @property
    def notice_acknowledged_at(self) -> datetime:
        """When the purposes notice was acknowledged; every later step needs it (``step``)."""
        found = parse_datetime(self.state.get("notice_at", ""))
        if found is None:
            raise ValueError("the purposes notice was not acknowledged")
        return found

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        self.request.session[SESSION] = self.state

    @property
    def address(self) -> str:
        return client_address(self.request)


def page(
    request: HttpRequest, flow: Flow, template: str, context: dict, status: int = 200
) -> HttpResponse:
    """A registration step, with what the step list needs to know about the person."""
    shown = {"employee": flow.employee, "dependents_only": flow.dependents_only, **context}
    return render(request, template, shown, status=status)


def unlogged(response: HttpResponse) -> HttpResponse:
    """Django logs the path of every 4xx response, and the path of a link holds its token:
    these answers are expected, and are in the audit log where they matter."""
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag
    return response


def closed(request: HttpRequest, state: str) -> HttpResponse:
    """A used, expired, withdrawn or unknown link says so plainly, and nothing more."""
    request.session.pop(SESSION, None)
    status = 404 if state == LinkState.UNKNOWN else 410
    return unlogged(render(request, "web/reg/closed.html", {"state": state}, status=status))


def too_many(request: HttpRequest) -> HttpResponse:
    return unlogged(render(request, "web/reg/too_many.html", status=429))


def _limited(request: HttpRequest, invitation_id: int | None = None) -> bool:
    if not ratelimit.hit("address", client_address(request), ratelimit.PER_ADDRESS):
        return True
    return invitation_id is not None and not ratelimit.hit(
        "invitation", str(invitation_id), ratelimit.PER_INVITATION
    )


def step(*, needs: tuple[str, ...] = ()) -> Callable:
    """The view gets the flow of this browser's open invitation, or the person is told why
    there is none; ``needs`` names what must be done first ("verified", "notice")."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @never_cache
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            state = dict(request.session.get(SESSION) or {})
            invitation = registration.reload(state["invitation"]) if state else None
            if invitation is None:
                return closed(request, LinkState.UNKNOWN)
            if _limited(request, invitation.pk):
                return too_many(request)
            link_state = registration.state_of(invitation)
            if link_state != LinkState.OPEN:
                return _closed_midway(request, invitation, link_state)
            flow = Flow(request, invitation, state)
            if "verified" in needs and not flow.verified:
                return redirect("web:reg_start")
            if "notice" in needs and not state.get("notice_at"):
                return redirect("web:reg_notice")
            try:
                return view(request, flow, *args, **kwargs)
            except InvitationClosed:
                link_state = registration.state_of(registration.reload(invitation.pk))
                return _closed_midway(request, invitation, link_state)

        return wrapped

    return decorate


def _closed_midway(request: HttpRequest, invitation: Invitation, state: str) -> HttpResponse:
    """The link closed while the person was on it (withdrawn, expired, used on another
    phone): refused, and audited like a closed link opened anew."""
    registration.refuse_closed_link(invitation, state, client_address(request))
    return closed(request, state)


@never_cache
def reg_open(request: HttpRequest, token: str) -> HttpResponse:
    """Exchange the link's token for this browser's session, then move on to a clean address
    (by a refresh from this page, which never sends the token anywhere as a referrer)."""
    if _limited(request):
        return too_many(request)
    address = client_address(request)
    if ratelimit.over("unknown", address, ratelimit.UNKNOWN_LINKS_PER_ADDRESS):
        return too_many(request)
    invitation = registration.find(token)
    state = registration.state_of(invitation)
    if invitation is None:  # LinkState.UNKNOWN
        ratelimit.hit("unknown", address, ratelimit.UNKNOWN_LINKS_PER_ADDRESS)
        return closed(request, state)
    if state != LinkState.OPEN:
        registration.refuse_closed_link(invitation, state, address)
        return closed(request, state)
    request.session.cycle_key()
    request.session[SESSION] = {"invitation": invitation.pk}
    registration.opened(invitation, address)
    response = render(request, "web/reg/continue.html")
    response["Referrer-Policy"] = "no-referrer"
    return response


@step()
def reg_start(request: HttpRequest, flow: Flow) -> HttpResponse:
    if flow.verified:
        return redirect("web:reg_notice")
    if flow.state.get("birth_date_ok"):
        return redirect("web:reg_code")
    form = BirthDateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        given = form.cleaned_data["birth_date"]
        if registration.check_birth_date(flow.invitation, given, flow.address):
            request.session.cycle_key()
            flow.save(birth_date_ok=True)
            return redirect("web:reg_code" if flow.code_required else "web:reg_notice")
        if registration.state_of(registration.reload(flow.invitation.pk)) != LinkState.OPEN:
            return closed(request, LinkState.REVOKED)
        form.add_error("birth_date", _("This birth date does not match our records."))
    context = {"form": form, "company": flow.company, "step": 1}
    return page(request, flow, "web/reg/start.html", context, status=400 if form.errors else 200)


@step()
def reg_code(request: HttpRequest, flow: Flow) -> HttpResponse:
    if not flow.state.get("birth_date_ok"):
        return redirect("web:reg_start")
    if flow.verified:
        return redirect("web:reg_notice")
    form = CodeForm(request.POST if "code" in request.POST else None)
    if request.method == "POST" and "send" in request.POST:
        if not ratelimit.hit("code", str(flow.invitation.pk), ratelimit.CODES_PER_INVITATION):
            messages.error(
                request, _("Too many codes were sent. Wait an hour, or ask your office.")
            )
        elif registration.send_code(flow.invitation):
            messages.info(request, _("We sent a code to the e-mail address of your invitation."))
        else:
            messages.error(request, _("The code could not be sent. Ask your office."))
        return redirect("web:reg_code")
    if request.method == "POST" and form.is_valid():
        if registration.check_code(flow.invitation, form.cleaned_data["code"], flow.address):
            flow.save(code_ok=True)
            return redirect("web:reg_notice")
        if registration.state_of(registration.reload(flow.invitation.pk)) != LinkState.OPEN:
            return closed(request, LinkState.REVOKED)
        form.add_error("code", _("This code is wrong or has expired."))
    return page(request, flow, "web/reg/code.html", {"form": form, "step": 1})


@step(needs=("verified",))
def reg_notice(request: HttpRequest, flow: Flow) -> HttpResponse:
    """利用目的の明示 (domain R11): the purposes the number will be used for, acknowledged
    before the number is asked for."""
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        flow.save(notice_at=timezone.now().isoformat())
        return redirect("web:reg_dependents" if flow.dependents_only else "web:reg_number")
    labels = dict(Purpose.choices)
    context = {
        "form": form,
        "step": 2,
        "company": flow.company,
        "person": flow.person,
        "purposes": [labels[p] for p in flow.invitation.purposes if p in labels],
        "reason": send_back_reason(flow.invitation),
    }
    return page(request, flow, "web/reg/notice.html", context)


@sensitive_post_parameters("number")
@step(needs=("verified", "notice"))
def reg_number(request: HttpRequest, flow: Flow) -> HttpResponse:
    if flow.dependents_only:
        return redirect("web:reg_dependents")
    form = NumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        drafts.enter_number(
            invitation=flow.invitation,
            number=form.cleaned_data["number"],
            client_address=flow.address,
        )
        return redirect("web:reg_documents")
    if form.errors.get("number"):
        registration.refuse(
            flow.invitation, Action.COLLECTION_NUMBER_ENTERED, "number", flow.address
        )
    draft = registration.draft_of(flow.invitation)
    context = {
        "form": form,
        "step": 3,
        "entered": draft is not None and draft.number_ciphertext is not None,
    }
    return page(request, flow, "web/reg/number.html", context, status=400 if form.errors else 200)


def documents_of(flow: Flow):
    draft = registration.draft_of(flow.invitation)
    return IdentityDocument.objects.filter(submission=draft).order_by("pk") if draft else []


def dependents_of(flow: Flow):
    draft = registration.draft_of(flow.invitation)
    return SubmittedDependent.objects.filter(submission=draft).order_by("pk") if draft else []


@step(needs=("verified", "notice"))
def reg_confirm(request: HttpRequest, flow: Flow) -> HttpResponse:
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        attested = form.cleaned_data["attested"]
        problems = registration.missing(flow.invitation, attested=attested)
        if not problems:
            try:
                submission = registration.submit(
                    invitation=flow.invitation,
                    notice_acknowledged_at=flow.notice_acknowledged_at,
                    attested=attested,
                    client_address=flow.address,
                )
            except ValueError:
                problems = registration.missing(flow.invitation, attested=attested)
            else:
                request.session[SESSION] = {}
                request.session["mnvault_receipt"] = submission.pk
                return redirect("web:reg_done")
    context = {
        "form": form,
        "step": 6,
        "person": flow.person,
        "company": flow.company,
        "documents": documents_of(flow),
        "dependents": dependents_of(flow),
        "changes": dependent_changes.asked(flow.invitation) if flow.dependents_only else [],
        "problems": problems or registration.missing(flow.invitation, attested=True),
        "posted": request.method == "POST",
    }
    return page(request, flow, "web/reg/confirm.html", context, status=400 if problems else 200)


@never_cache
def reg_done(request: HttpRequest) -> HttpResponse:
    """The receipt: what was handed in and when, never the number."""
    receipt = request.session.get("mnvault_receipt")
    submission = Submission.objects.filter(pk=receipt).first() if receipt else None
    if submission is None:
        return closed(request, LinkState.UNKNOWN)
    context = {
        "submission": submission,
        "company": Company.objects.get(pk=submission.company_id),
        "documents": submission.documents.count(),
        "dependents": submission.dependents.count(),
        "employee": Person.objects.filter(
            pk=submission.person_id, kind=PersonKind.EMPLOYEE
        ).exists(),
        "receipt": submission.ref[:8].upper(),
    }
    return render(request, "web/reg/done.html", context)
