"""People of one company: list with search and filters, and each person's page with the
number masked, revealed for a notified purpose only to handlers and responsible managers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from mnvault.collection import dependent_changes
from mnvault.collection.status import (
    CollectionAnnotations,
    CollectionStatus,
    with_collection_status,
)
from mnvault.collection.status import summary as collection_summary
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.people.models import Person, PersonKind, PersonPurpose
from mnvault.people.services import save_person
from mnvault.usage.kinds import KINDS
from mnvault.usage.runs import documents_of
from mnvault.vault.errors import Refused, VaultError
from mnvault.vault.models import NumberRecord, NumberStatus, VerificationChannel
from mnvault.vault.services import Verification, reveal_number, store_number
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.people_forms import NumberEntryForm, PersonForm
from mnvault.web.reauth import reauthenticated, session_actor, to_confirmation
from mnvault.web.views.disposal import retention_of

if TYPE_CHECKING:
    from django.core.paginator import Page
    from django_stubs_ext import WithAnnotations

PAGE_SIZE = 50
MAX_QUERY = 100  # characters of a people search: longer than any name or employee code


class _Listed(CollectionAnnotations):
    collection_label: str | Promise  # set on each person of the page, for the template


@company_page()
def people_list(request: CompanyRequest) -> HttpResponse:
    people = Person.objects.filter(company=request.company)
    query = request.GET.get("q", "").strip()
    if len(query) > MAX_QUERY:
        messages.error(
            request,
            _("The search text is too long: at most %(max)d characters.") % {"max": MAX_QUERY},
        )
        return redirect("web:people", request.company.pk)
    if query and numbers.holds_number(query):
        # Searching by number would make the number a search key (domain R12). Refused, and
        # sent on to a clean address so the number stays neither in the page nor in the
        # browser's history.
        messages.error(request, _("Searching by individual number is not possible."))
        return redirect("web:people", request.company.pk)
    if query:
        people = people.filter(
            Q(family_name__icontains=query)
            | Q(given_name__icontains=query)
            | Q(family_name_kana__icontains=query)
            | Q(given_name_kana__icontains=query)
            | Q(employee_code__iexact=query)
        )
    kind = request.GET.get("kind", "")
    if kind in PersonKind.values:
        people = people.filter(kind=kind)
    people = with_collection_status(people)
    status = request.GET.get("status", "")
    if status in ("stored", "missing"):
        people = people.filter(has_number=status == "stored")
    collection = request.GET.get("collection", "")
    if collection in CollectionStatus.values:
        people = people.filter(collection_status=collection)
    page = Paginator(people.order_by("family_name_kana", "given_name_kana", "pk"), PAGE_SIZE)
    shown = cast("Page[WithAnnotations[Person, _Listed]]", page.get_page(request.GET.get("page")))
    labels = dict(CollectionStatus.choices)
    for person in shown:
        person.collection_label = labels[person.collection_status]
    context = {
        "page": shown,
        "query": query,
        "kind": kind,
        "status": status,
        "collection": collection,
        "collection_statuses": CollectionStatus.choices,
        "kinds": PersonKind.choices,
        "may_edit": can(request.roles, C.PEOPLE_EDIT),
        "may_invite": can(request.roles, C.INVITE),
    }
    return render(request, "web/people_list.html", context)


def _person(request: CompanyRequest, person_id: int) -> Person:
    return get_object_or_404(Person, pk=person_id, company=request.company)


def _revealable_purposes(
    request: CompanyRequest, person: Person
) -> list[tuple[str, str | Promise]]:
    notified = (
        set(PersonPurpose.objects.filter(person=person).values_list("purpose", flat=True))
        & request.company.notified_purposes()
    )
    return [(code, label) for code, label in Purpose.choices if code in notified]


@company_page()
def person_detail(request: CompanyRequest, person_id: int) -> HttpResponse:
    return _render_person(request, _person(request, person_id))


def _render_person(request: CompanyRequest, person: Person, error: str = "") -> HttpResponse:
    record = NumberRecord.objects.filter(person=person).first()
    context = {
        "person": person,
        "record": record,
        "stored": record is not None and record.status == NumberStatus.ACTIVE,
        "mask": numbers.MASK,
        "may_reveal": can(request.roles, C.NUMBER_REVEAL),
        "may_edit": can(request.roles, C.PEOPLE_EDIT),
        "purposes": _revealable_purposes(request, person),
        "error": error,
        "collection": collection_summary(person) if person.kind != PersonKind.DEPENDENT else None,
        "may_invite": can(request.roles, C.INVITE),
        "dependent_ended": (
            dependent_changes.ended_at(person) if person.kind == PersonKind.DEPENDENT else None
        ),
        "documents": _documents(person),
        "disposed": record is not None and record.status == NumberStatus.DISPOSED,
        "retention": retention_of(person) if can(request.roles, C.DISPOSAL_VIEW) else None,
    }
    return render(request, "web/person_detail.html", context, status=403 if error else 200)


def _documents(person: Person) -> list[dict[str, Any]]:
    """The documents that carried the person's number (the provision ledger, R4)."""
    shown = []
    for provided in documents_of(person.pk):
        run = provided.run
        spec = KINDS.get(run.kind)
        shown.append({"run": run, "kind": spec.label if spec else run.kind, "role": provided.role})
    return shown


def _person_url(request: CompanyRequest, person_id: int) -> str:
    return reverse("web:person", args=[request.company.pk, person_id])


@never_cache
@require_POST
@sensitive_variables("number")
@company_page()
@reauthenticated(back=_person_url)
def person_reveal(request: CompanyRequest, person_id: int) -> HttpResponse:
    """The number, for the purpose chosen, on a page that returns to the masked view after
    30 seconds (a meta refresh: no script needed). Refusals are audited by the vault; a
    session whose sign-in is too old confirms it first (web.reauth)."""
    person = _person(request, person_id)
    purpose = request.POST.get("purpose", "")
    if purpose not in Purpose.values:  # not a purpose at all: the vault refuses it as none
        purpose = ""
    try:
        number = reveal_number(
            acting_user=session_actor(request),
            person=person,
            purpose=purpose,
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
    except Refused as refused:
        if refused.code == "reauthenticate":  # went stale since the check above; audited
            return to_confirmation(request, _person_url(request, person_id))
        return _render_person(request, person, error=str(refused))
    except VaultError as failed:  # audited by the vault
        return _render_person(request, person, error=str(failed))
    context = {
        "person": person,
        "number": numbers.format_grouped(number),
        "purpose": Purpose(purpose).label,
        "seconds": settings.MNVAULT_REVEAL_SECONDS,
    }
    response = render(request, "web/person_reveal.html", context)
    response["Cache-Control"] = "no-store"
    return response


@company_page(capability=C.PEOPLE_EDIT)
def person_new(request: CompanyRequest) -> HttpResponse:
    return _edit(request, Person())


@company_page(capability=C.PEOPLE_EDIT)
def person_edit(request: CompanyRequest, person_id: int) -> HttpResponse:
    return _edit(request, _person(request, person_id))


def _edit(request: CompanyRequest, person: Person) -> HttpResponse:
    form = PersonForm(request.POST or None, instance=person, company=request.company)
    if request.method == "POST" and form.is_valid():
        saved = save_person(
            acting_user=request.user,
            person=form.save(commit=False),
            changed=form.changed_data,
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
        return redirect("web:person", request.company.pk, saved.pk)
    return render(request, "web/person_form.html", {"form": form, "person": person})


@never_cache
@sensitive_post_parameters("number")
@company_page(capability=C.NUMBER_REVEAL)
def number_entry(request: CompanyRequest, person_id: int) -> HttpResponse:
    """A handler enters the number in person (対面) with its verification record (domain
    R20, R24). The typed number never comes back in the page, not even with an error."""
    person = _person(request, person_id)
    form = NumberEntryForm(request.POST or None, company=request.company, kind=person.kind)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            store_number(
                acting_user=request.user,
                person=person,
                number=data["number"],
                purposes=data["purposes"],
                verification=Verification(
                    channel=VerificationChannel.IN_PERSON,
                    document_kinds=data["document_kinds"],
                    verified_on=data["verified_on"],
                    verified_by=request.user,
                    identity_exemption=data.get("identity_exemption", False),
                ),
                client_address=request.META.get("REMOTE_ADDR", ""),
            )
        except Refused as refused:
            form.add_error(None, refused.message)
            status = 403
        except VaultError as failed:  # a duplicate, a purpose the company does not notify
            form.add_error(None, failed.message)
        else:
            return redirect("web:person", request.company.pk, person.pk)
    context = {"form": form, "person": person}
    return render(request, "web/number_form.html", context, status=status)
