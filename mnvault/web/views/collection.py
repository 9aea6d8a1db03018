"""Staff pages of collection: where everyone stands, sending invitations (by e-mail or on a
printed sheet with a QR code), withdrawing them, reminders, and the company's collection
settings."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mnvault.audit.actors import Actor
from mnvault.collection import invitations, refusals, review
from mnvault.collection.invitations import InviteResult
from mnvault.collection.mail import registration_link
from mnvault.collection.models import Invitation
from mnvault.collection.status import CollectionStatus, status_counts, with_collection_status
from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.people.models import Person
from mnvault.web.collection_forms import CollectionSettingsForm, InviteForm
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.views.registration import client_address

WAITING = (CollectionStatus.NOT_INVITED, CollectionStatus.EXPIRED)


@company_page(capability=C.INVITE)
def collection_overview(request: CompanyRequest) -> HttpResponse:
    company = request.company
    people = Person.objects.filter(company=company, kind__in=invitations.INVITABLE_KINDS)
    context = {
        "counts": [
            (code, label, n)
            for (code, label), n in zip(
                CollectionStatus.choices, status_counts(people).values(), strict=True
            )
        ],
        "queue": review.queue(company).count(),
        "may_review": can(request.roles, C.COLLECTION_REVIEW),
        "may_configure": can(request.roles, C.SETTINGS_EDIT),
    }
    return render(request, "web/collection/overview.html", context)


def _targets(request: CompanyRequest, form: InviteForm) -> list[Person]:
    people = Person.objects.filter(company=request.company, kind__in=invitations.INVITABLE_KINDS)
    if form.cleaned_data["everyone_waiting"]:
        # django-stubs checks every lookup on an annotation against the annotation's own
        # type (str), so an __in lookup's tuple looks wrong to it.
        waiting = with_collection_status(people).filter(collection_status__in=WAITING)  # type: ignore[misc]
        return list(waiting.order_by("family_name_kana", "given_name_kana", "pk"))
    return list(people.filter(pk__in=form.cleaned_data["people"]).order_by("pk"))


@never_cache
@require_POST
@company_page(capability=C.INVITE)
def invite(request: CompanyRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whom to invite, and how."))
        return redirect("web:collection", request.company.pk)
    result = invitations.invite(
        acting_user=request.user,
        company=request.company,
        people=_targets(request, form),
        delivery=form.cleaned_data["delivery"],
        client_address=client_address(request),
    )
    report(request, result)
    if result.printed:
        return render_sheets(request, result)
    back = form.cleaned_data.get("next_person")
    if back:
        return redirect("web:person", request.company.pk, back)
    return redirect("web:collection", request.company.pk)


def report(request: HttpRequest, result: InviteResult) -> None:
    """One line per outcome, with counts: never an address or a name in a message."""
    if result.sent:
        n = len(result.sent)
        messages.success(
            request, ngettext("%(n)d invitation sent.", "%(n)d invitations sent.", n) % {"n": n}
        )
    for group, text in (
        (result.no_email, _("%(n)d without an e-mail address: print their sheets instead.")),
        (result.no_birth_date, _("%(n)d without a birth date on file: add it first.")),
        (result.no_purpose, _("%(n)d with no purpose the company notifies for them.")),
        (result.not_needed, _("%(n)d already stored or awaiting review: not invited.")),
        (result.failed, _("%(n)d e-mails could not be sent: check the SMTP settings.")),
    ):
        if group:
            messages.warning(request, text % {"n": len(group)})


def render_sheets(request: HttpRequest, result: InviteResult) -> HttpResponse:
    """The printed invitations: shown once (the tokens are not kept), one sheet per person."""
    sheets = []
    for invitation, token in result.printed:
        link = registration_link(token)
        sheets.append(
            {
                "person": Person.objects.get(pk=invitation.person_id),
                "link": link,
                "qr": segno.make(link, error="m").svg_data_uri(scale=4),
                "expires_at": invitation.expires_at,
                "dependents_only": invitation.dependents_only,
            }
        )
    return render(request, "web/collection/sheets.html", {"sheets": sheets})


@never_cache
@require_POST
@company_page(capability=C.INVITE)
def invite_dependents(request: CompanyRequest, person_id: int) -> HttpResponse:
    """Invite an employee whose number is stored to add dependents (a birth, a marriage, the
    year-end changes): the registration asks for the dependents only."""
    person = get_object_or_404(Person, pk=person_id, company=request.company)
    delivery = request.POST.get("delivery", "")
    if delivery not in Invitation.Delivery.values:
        messages.error(request, _("Choose whom to invite, and how."))
        return redirect("web:person", request.company.pk, person.pk)
    result = invitations.invite_for_dependents(
        acting_user=request.user,
        person=person,
        delivery=delivery,
        client_address=client_address(request),
    )
    report(request, result)
    if result.printed:
        return render_sheets(request, result)
    return redirect("web:person", request.company.pk, person.pk)


@require_POST
@company_page(capability=C.INVITE)
def withdraw(request: CompanyRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, company=request.company)
    if invitations.revoke(
        acting_user=request.user, invitation=invitation, client_address=client_address(request)
    ):
        messages.success(request, _("The invitation was withdrawn: its link no longer works."))
    else:
        messages.info(request, _("This invitation was already used or withdrawn."))
    return redirect("web:person", request.company.pk, invitation.person_id)


@require_POST
@company_page(capability=C.INVITE)
def remind_all(request: CompanyRequest) -> HttpResponse:
    """Remind now everyone invited by e-mail who has not submitted."""
    now = timezone.now()
    sent = 0
    for invitation in invitations.open_by_email(request.company, now):
        sent += invitations.remind(invitation, actor=Actor.of(request.user), now=now)
    messages.success(
        request, ngettext("%(n)d reminder sent.", "%(n)d reminders sent.", sent) % {"n": sent}
    )
    return redirect("web:collection", request.company.pk)


@company_page(capability=C.SETTINGS_EDIT)
def collection_settings(request: CompanyRequest) -> HttpResponse:
    company = request.company
    current = invitations.settings_of(company)
    form = CollectionSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        changed = form.changed_data
        if changed:
            invitations.save_settings(
                acting_user=request.user,
                found=form.save(commit=False),
                changed=changed,
                client_address=client_address(request),
            )
            messages.success(request, _("Settings saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("web:collection_settings", company.pk)
    return render(request, "web/collection/settings.html", {"form": form})


@require_POST
@company_page(capability=C.INVITE)
def record_refusal(request: CompanyRequest, person_id: int) -> HttpResponse:
    """Record that the person refuses to provide their number, with the reason they gave."""
    person = get_object_or_404(Person, pk=person_id, company=request.company)
    try:
        refusals.record(
            acting_user=request.user,
            person=person,
            reason=request.POST.get("reason", ""),
            client_address=client_address(request),
        )
    except refusals.RefusalProblem as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, _("The refusal was recorded."))
    return redirect("web:person", request.company.pk, person.pk)


@require_POST
@company_page(capability=C.INVITE)
def withdraw_refusal(request: CompanyRequest, person_id: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=person_id, company=request.company)
    if refusals.withdraw(
        acting_user=request.user, person=person, client_address=client_address(request)
    ):
        messages.success(request, _("The refusal was withdrawn."))
    else:
        messages.info(request, _("No refusal was recorded for this person."))
    return redirect("web:person", request.company.pk, person.pk)
