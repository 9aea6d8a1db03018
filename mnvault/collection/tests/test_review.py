"""The handler's review: the queue, documents and entered numbers (each opening audited),
approve and send back — and every role that must be refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from mnvault.accounts.models import Membership
from mnvault.audit.models import AuditEntry
from mnvault.collection.models import (
    CollectionSettings,
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
)
from mnvault.collection.reminders import send_due_reminders
from mnvault.collection.tests.conftest import Walker, token_from_mail
from mnvault.conftest import ALL_DATABASES
from mnvault.people.models import Person
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
APPROVE = {"document_kinds": ["my_number_card"], "confirmed": "on"}


@pytest.fixture
def numbers_entered(make_number) -> tuple[str, str]:
    return make_number(), make_number()


@pytest.fixture
def submitted(walker, numbers_entered) -> Submission:
    number, dependent = numbers_entered
    walker.register(number, dependents=[dependent])
    return Submission.objects.get(status=SubmissionStatus.SUBMITTED)


def url(personas, submission, action: str = "") -> str:
    return f"/c/{personas.company.pk}/collection/review/{submission.pk}/{action}"


def test_handler_sees_the_queue_and_the_entered_numbers_audited(
    signed_in, personas, submitted, numbers_entered
):
    client = signed_in(personas.handler)
    queue = client.get(f"/c/{personas.company.pk}/collection/review/")
    assert f"/review/{submitted.pk}/" in queue.content.decode()
    page = client.get(url(personas, submitted)).content.decode()
    number, dependent = numbers_entered
    assert f"{number[:4]} {number[4:8]} {number[8:]}" in page
    assert f"{dependent[:4]} {dependent[4:8]} {dependent[8:]}" in page
    assert AuditEntry.objects.filter(action="collection.review_numbers", outcome="ok").count() == 1


def test_each_document_view_is_audited_and_served_from_the_vault(signed_in, personas, submitted):
    client = signed_in(personas.handler)
    document = IdentityDocument.objects.filter(submission=submitted).earliest("pk")
    response = client.get(f"/c/{personas.company.pk}/collection/documents/{document.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    assert "no-store" in response["Cache-Control"]
    client.get(f"/c/{personas.company.pk}/collection/documents/{document.pk}")
    assert AuditEntry.objects.filter(action="collection.document_view").count() == 2


@pytest.mark.parametrize("role", ["company_admin", "staff", "auditor"])
def test_roles_without_number_rights_cannot_review(signed_in, personas, submitted, role):
    client = signed_in(getattr(personas, role))
    document = IdentityDocument.objects.filter(submission=submitted).earliest("pk")
    assert client.get(url(personas, submitted)).status_code == 404
    assert client.post(url(personas, submitted, "approve"), APPROVE).status_code == 404
    assert client.post(url(personas, submitted, "send-back"), {"reason": "x"}).status_code == 404
    docs = f"/c/{personas.company.pk}/collection/documents/{document.pk}"
    assert client.get(docs).status_code == 404
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED


def test_handler_of_another_company_gets_404(signed_in, personas, submitted):
    client = signed_in(personas.other_handler)
    assert client.get(url(personas, submitted)).status_code == 404
    other = f"/c/{personas.other_company.pk}/collection/review/{submitted.pk}/"
    assert client.get(other).status_code == 404


def test_handler_out_of_scope_is_refused_and_audited(signed_in, personas, submitted):
    Membership.objects.filter(user=personas.handler).update(person_kinds=["payee"])
    client = signed_in(personas.handler)
    response = client.get(url(personas, submitted))
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="collection.review_numbers", outcome="refused")
    client.post(url(personas, submitted, "approve"), APPROVE)
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED
    assert AuditEntry.objects.filter(action="collection.approve", outcome="refused").exists()


def test_handler_scoped_to_employees_cannot_approve_dependents(signed_in, personas, submitted):
    Membership.objects.filter(user=personas.handler).update(person_kinds=["employee"])
    signed_in(personas.handler).post(url(personas, submitted, "approve"), APPROVE)
    assert not NumberRecord.objects.exists()
    refused = AuditEntry.objects.get(action="collection.approve", outcome="refused")
    assert refused.reason == "scope"


def test_approve_stores_the_numbers_and_destroys_the_photos(
    signed_in, personas, submitted, invitee, numbers_entered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(personas.handler).post(url(personas, submitted, "approve"), APPROVE)
    assert response.status_code == 302
    record = NumberRecord.objects.get(person=invitee)
    assert record.status == NumberStatus.ACTIVE and record.channel == "online"
    assert record.document_kinds == ["my_number_card"]
    assert record.verified_by == personas.handler
    dependent = Person.objects.get(employee=invitee)
    assert dependent.kind == "dependent" and dependent.relationship == "child"
    assert NumberRecord.objects.get(person=dependent).channel == "by_employee"
    number, dependent_number = numbers_entered
    shown = reveal_number(acting_user=personas.handler, person=invitee, purpose="withholding")
    assert shown == number
    assert (
        reveal_number(acting_user=personas.handler, person=dependent, purpose="withholding")
        == dependent_number
    )
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.APPROVED
    assert submitted.number_ciphertext is None
    assert not IdentityDocument.objects.exists()
    assert not DataKey.objects.filter(ref=submitted.document_key_ref).exists()


def test_photos_are_kept_as_long_as_the_company_says_then_destroyed(
    signed_in, personas, submitted, django_capture_on_commit_callbacks
):
    CollectionSettings.objects.create(company=personas.company, document_retention_days=30)
    signed_in(personas.handler).post(url(personas, submitted, "approve"), APPROVE)
    assert IdentityDocument.objects.count() == 2
    assert send_due_reminders(now=timezone.now() + timedelta(days=29))["documents_destroyed"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        later = send_due_reminders(now=timezone.now() + timedelta(days=31))
    assert later["documents_destroyed"] == 1
    assert not IdentityDocument.objects.exists()
    assert not DataKey.objects.filter(ref=submitted.document_key_ref).exists()
    assert AuditEntry.objects.filter(
        action="collection.documents_destroyed", reason="retention_ended"
    ).exists()


def test_approve_needs_an_accepted_combination(signed_in, personas, submitted):
    response = signed_in(personas.handler).post(
        url(personas, submitted, "approve"),
        {"document_kinds": ["health_insurance_card"], "confirmed": "on"},
    )
    assert response.status_code == 400
    assert not NumberRecord.objects.exists()


def test_approving_twice_stores_once(signed_in, personas, submitted):
    client = signed_in(personas.handler)
    client.post(url(personas, submitted, "approve"), APPROVE)
    assert client.post(url(personas, submitted, "approve"), APPROVE).status_code == 404
    assert NumberRecord.objects.count() == 2


def test_a_number_already_stored_for_someone_else_is_not_approved(
    signed_in, personas, submitted, numbers_entered
):
    from mnvault.conftest import make_person
    from mnvault.vault.services import Verification, store_number

    store_number(
        acting_user=personas.handler,
        person=make_person(personas.company, given_name="次郎"),
        number=numbers_entered[0],
        purposes=["withholding"],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    response = signed_in(personas.handler).post(url(personas, submitted, "approve"), APPROVE)
    assert response.status_code == 400
    assert "既に" in response.content.decode()
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED
    assert not Person.objects.filter(kind="dependent").exists()


def test_send_back_keeps_nothing_and_sends_a_new_invitation(
    signed_in, personas, submitted, invitee
):
    mail.outbox.clear()
    reason = "写真がぼやけています。もう一度撮ってください。"
    response = signed_in(personas.handler).post(
        url(personas, submitted, "send-back"), {"reason": reason}
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SENT_BACK
    assert submitted.number_ciphertext is None
    assert not IdentityDocument.objects.exists()
    assert not NumberRecord.objects.exists()
    message = mail.outbox[-1]
    assert reason in message.body
    new = Invitation.objects.filter(person=invitee).latest("pk")
    assert new.follows_send_back
    walker = Walker(token_from_mail(message))
    walker.acknowledge()
    assert reason in walker.get("/register/purposes").content.decode()


def test_send_back_reason_cannot_hold_a_number(signed_in, personas, submitted, make_number):
    number = make_number()
    response = signed_in(personas.handler).post(
        url(personas, submitted, "send-back"), {"reason": f"番号 {number} が違います"}
    )
    assert response.status_code == 400
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED
    assert not [m for m in mail.outbox if number in m.body]
