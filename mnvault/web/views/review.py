"""The handler's review of submissions (本人確認, domain R20): a queue, each submission with its
documents beside the entered details, then approve or send back. Opening the entered numbers
and each document photo is an audited action of the vault core."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mnvault.collection import dependent_changes, review
from mnvault.collection.errors import NotSubmitted
from mnvault.collection.models import IdentityDocument, Submission, SubmissionStatus
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.domain.roles import Capability as C
from mnvault.vault.errors import Refused, VaultError
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.review_forms import ApproveForm, DependentsApproveForm, SendBackForm
from mnvault.web.views.collection import render_sheets, report
from mnvault.web.views.registration import client_address


@company_page(capability=C.COLLECTION_REVIEW)
def review_queue(request: CompanyRequest) -> HttpResponse:
    return render(request, "web/collection/queue.html", {"queue": review.queue(request.company)})


def _submission(request: CompanyRequest, submission_id: int) -> Submission:
    return get_object_or_404(
        Submission, pk=submission_id, company=request.company, status=SubmissionStatus.SUBMITTED
    )


@never_cache
@company_page(capability=C.COLLECTION_REVIEW)
def review_submission(request: CompanyRequest, submission_id: int) -> HttpResponse:
    submission = _submission(request, submission_id)
    return _render_review(request, submission)


def _render_review(
    request: CompanyRequest,
    submission: Submission,
    approve_form: ApproveForm | DependentsApproveForm | None = None,
    send_back_form: SendBackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        opened = review.open_submitted_numbers(
            acting_user=request.user, submission=submission, client_address=client_address(request)
        )
    except VaultError as failed:  # refused (audited), or no longer awaiting review
        messages.error(request, failed.message)
        return redirect("web:review_queue", request.company.pk)
    documents = list(submission.documents.order_by("pk"))
    labels = dict(Purpose.choices)
    dependents = [
        (d, numbers.format_grouped(opened.dependents[d.pk]))
        for d in submission.dependents.order_by("pk")
    ]
    only_dependents = review.dependents_only(submission)
    if approve_form is None and only_dependents:
        approve_form = DependentsApproveForm()
    context = {
        "submission": submission,
        "dependents_only": only_dependents,
        "person": submission.person,
        "number": numbers.format_grouped(opened.number),
        "dependents": dependents,
        "changes": dependent_changes.asked(submission.invitation),
        "documents": documents,
        "purposes": [labels.get(p, p) for p in submission.purposes],
        "approve_form": approve_form
        or ApproveForm(initial={"document_kinds": sorted({d.kind for d in documents})}),
        "send_back_form": send_back_form or SendBackForm(),
    }
    return render(request, "web/collection/review.html", context, status=status)


@never_cache
@company_page(capability=C.COLLECTION_REVIEW)
def review_document(request: CompanyRequest, document_id: int) -> HttpResponse:
    document = get_object_or_404(IdentityDocument, pk=document_id)
    if document.submission.company_id != request.company.pk:
        raise Http404
    try:
        content = review.open_document(
            acting_user=request.user, document=document, client_address=client_address(request)
        )
    except (Refused, NotSubmitted):
        raise Http404 from None
    response = HttpResponse(content, content_type=document.content_type)
    response["Content-Disposition"] = "inline"
    return response


@require_POST
@company_page(capability=C.COLLECTION_REVIEW)
def approve(request: CompanyRequest, submission_id: int) -> HttpResponse:
    submission = _submission(request, submission_id)
    only_dependents = review.dependents_only(submission)
    form = DependentsApproveForm(request.POST) if only_dependents else ApproveForm(request.POST)
    if not form.is_valid():
        return _render_review(request, submission, approve_form=form, status=400)
    try:
        review.approve(
            acting_user=request.user,
            submission=submission,
            document_kinds=form.cleaned_data.get("document_kinds", ()),
            client_address=client_address(request),
        )
    except VaultError as failed:  # a refusal, a duplicate number, a bad combination
        form.add_error(None, failed.message)
        return _render_review(request, submission, approve_form=form, status=400)
    if only_dependents:
        messages.success(request, _("Approved: the dependents' numbers are stored."))
    else:
        messages.success(request, _("Approved: the number is stored."))
    return redirect("web:person", request.company.pk, submission.person_id)


@require_POST
@company_page(capability=C.COLLECTION_REVIEW)
def send_back(request: CompanyRequest, submission_id: int) -> HttpResponse:
    submission = _submission(request, submission_id)
    form = SendBackForm(request.POST)
    if not form.is_valid():
        return _render_review(request, submission, send_back_form=form, status=400)
    try:
        result = review.send_back(
            acting_user=request.user,
            submission=submission,
            reason=form.cleaned_data["reason"],
            client_address=client_address(request),
        )
    except VaultError as failed:
        form.add_error(None, failed.message)
        return _render_review(request, submission, send_back_form=form, status=400)
    messages.success(request, _("Sent back. The person gets a new invitation."))
    report(request, result)
    if result.printed:
        return render_sheets(request, result)
    return redirect("web:review_queue", request.company.pk)
