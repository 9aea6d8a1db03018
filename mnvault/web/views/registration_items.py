"""The registration steps that collect several items: identity-document photos (for the
combination the person chose, domain R20) and dependents (declared and verified by the
employee, domain R23)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from mnvault.audit.actions import Action
from mnvault.collection import dependent_changes, drafts
from mnvault.collection.document_files import DocumentRefused, clean_document, max_document_bytes
from mnvault.collection.drafts import DependentDetails
from mnvault.collection.errors import TooMany
from mnvault.people.models import Person
from mnvault.vault.errors import VaultError
from mnvault.web.registration_forms import (
    CombinationForm,
    DependentDetailsForm,
    DependentForm,
    DocumentForm,
)
from mnvault.web.views.registration import (
    Flow,
    dependents_of,
    documents_of,
    page,
    registration,
    step,
)


def _remove(request: HttpRequest, flow: Flow, remover) -> bool:
    value = request.POST.get("remove", "")
    if request.method != "POST" or not (value.isascii() and value.isdigit()):
        return False
    remover(int(value))
    return True


@step(needs=("verified", "notice"))
def reg_documents(request: HttpRequest, flow: Flow) -> HttpResponse:
    if flow.dependents_only:  # the employee's own identity was checked when it was stored
        return redirect("web:reg_dependents")

    def remove(document_id: int) -> None:
        drafts.remove_document(
            invitation=flow.invitation, document_id=document_id, client_address=flow.address
        )

    if _remove(request, flow, remove):
        return redirect("web:reg_documents")
    if request.method == "POST" and "combination" in request.POST:
        choice = CombinationForm(request.POST)
        if choice.is_valid():
            flow.save(combination=choice.cleaned_data["combination"])
        return redirect("web:reg_documents")
    combination = flow.state.get("combination")
    uploaded = list(documents_of(flow))
    form = DocumentForm(combination=combination, uploaded=uploaded) if combination else None
    status = 200
    if combination and request.method == "POST":
        form = DocumentForm(request.POST, request.FILES, combination=combination)
        if _store_upload(request, flow, form):
            return redirect("web:reg_documents")
        status = 400
    documents = uploaded
    problem = registration.documents_problem([(d.kind, d.side) for d in documents])
    context = {
        "step": 4,
        "choice": CombinationForm(initial={"combination": combination}),
        "combination": combination,
        "form": form,
        "documents": documents,
        "complete": not problem and bool(documents),
        "problem": problem,
        "max_mb": max_document_bytes() // (1024 * 1024),
    }
    return page(request, flow, "web/reg/documents.html", context, status=status)


def _store_upload(request: HttpRequest, flow: Flow, form: DocumentForm) -> bool:
    """Clean the file in memory and hand it to the vault core; on any refusal, say why on
    the form and store nothing."""
    if "file" in getattr(request, "too_large_uploads", ()):
        registration.refuse(
            flow.invitation, Action.COLLECTION_DOCUMENT_ADDED, "too_large", flow.address
        )
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error(
            "file",
            _("The file is larger than %(mb)s MB.") % {"mb": max_document_bytes() // 2**20},
        )
        return False
    if not form.is_valid():
        return False
    try:
        clean = clean_document(form.cleaned_data["file"].read())
    except DocumentRefused as refused:
        form.add_error("file", refused.message)
        registration.refuse(
            flow.invitation, Action.COLLECTION_DOCUMENT_ADDED, refused.code, flow.address
        )
        return False
    try:
        drafts.add_document(
            invitation=flow.invitation,
            kind=form.cleaned_data["kind"],
            side=form.cleaned_data.get("side") or "",
            content=clean.content,
            content_type=clean.content_type,
            client_address=flow.address,
        )
    except TooMany:
        form.add_error("file", _("No more files can be added: remove one first."))
        registration.refuse(
            flow.invitation, Action.COLLECTION_DOCUMENT_ADDED, "too_many", flow.address
        )
        return False
    return True


@sensitive_post_parameters("number")
@step(needs=("verified", "notice"))
def reg_dependents(request: HttpRequest, flow: Flow) -> HttpResponse:
    if not flow.employee:
        return redirect("web:reg_confirm")

    def remove(dependent_id: int) -> None:
        drafts.remove_dependent(
            invitation=flow.invitation, dependent_id=dependent_id, client_address=flow.address
        )

    if _remove(request, flow, remove):
        return redirect("web:reg_dependents")
    if flow.dependents_only:
        answered = _on_record(request, flow)
        if answered is not None:
            return answered
    form = DependentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        number = data.pop("number")
        try:
            drafts.add_dependent(
                invitation=flow.invitation,
                details=DependentDetails(**data),
                number=number,
                client_address=flow.address,
            )
        except VaultError as failed:
            form.add_error(None, failed.message)
        else:
            return redirect("web:reg_dependents")
    if form.errors.get("number"):
        registration.refuse(
            flow.invitation, Action.COLLECTION_DEPENDENT_ADDED, "number", flow.address
        )
    status = 400 if form.errors else 200
    return _dependents_page(request, flow, form, status=status)


def _dependents_page(
    request: HttpRequest,
    flow: Flow,
    form: DependentForm,
    change_form: DependentDetailsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "step": 5, "dependents": dependents_of(flow)}
    if flow.dependents_only:
        changes = list(dependent_changes.asked(flow.invitation))
        pending = {c.dependent_id for c in changes}
        context |= {
            "on_record": [d for d in _on_record_of(flow) if d.pk not in pending],
            "changes": changes,
            "change_form": change_form,
        }
    return page(request, flow, "web/reg/dependents.html", context, status=status)


def _on_record_of(flow: Flow) -> QuerySet[Person]:
    return dependent_changes.on_record(flow.invitation.person_id)


def _int(value: str) -> int | None:
    """A primary key from a form or the query string; anything else (or too long for one)
    is none."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _on_record(request: HttpRequest, flow: Flow) -> HttpResponse | None:
    """The employee's answers about dependents on record: change one (the form prefilled
    with what is on record, shown by ``?change=``), say one is no longer a dependent, or
    take back what they asked. None when the request is about something else."""
    address = flow.address
    if request.method == "GET" and (chosen := _int(request.GET.get("change", ""))):
        dependent = _on_record_of(flow).filter(pk=chosen).first()
        if dependent is None:
            return redirect("web:reg_dependents")
        initial = {f: getattr(dependent, f) for f in DependentDetailsForm.base_fields}
        change_form = DependentDetailsForm(initial=initial, prefix="change")
        change_form.dependent = dependent  # type: ignore[attr-defined]  # shown in its heading
        return _dependents_page(request, flow, DependentForm(), change_form)
    if request.method != "POST":
        return None
    try:
        if dropped := _int(request.POST.get("drop", "")):
            dependent_changes.ask_removal(
                invitation=flow.invitation, dependent_id=dropped, client_address=address
            )
        elif undone := _int(request.POST.get("undo", "")):
            dependent_changes.withdraw(
                invitation=flow.invitation, change_id=undone, client_address=address
            )
        elif changed := _int(request.POST.get("change", "")):
            change_form = DependentDetailsForm(request.POST, prefix="change")
            if not change_form.is_valid():
                dependent = _on_record_of(flow).filter(pk=changed).first()
                change_form.dependent = dependent  # type: ignore[attr-defined]
                return _dependents_page(request, flow, DependentForm(), change_form, status=400)
            dependent_changes.ask_change(
                invitation=flow.invitation,
                dependent_id=changed,
                details=DependentDetails(**change_form.cleaned_data),
                client_address=address,
            )
        else:
            return None
    except VaultError as failed:
        registration.refuse(
            flow.invitation, Action.COLLECTION_DEPENDENT_CHANGE, failed.code, flow.address
        )
        messages.error(request, failed.message)
    return redirect("web:reg_dependents")
