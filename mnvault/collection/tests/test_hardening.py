"""What a second review of collection found, kept as tests: tokens out of the logs, links that
survive a failed reminder, drafts private until handed in, numbers never replaced silently,
dependents' purposes, refusals audited, and jobs that keep going."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.collection import invitations, ratelimit
from mnvault.collection.drafts import MAX_DOCUMENTS
from mnvault.collection.models import IdentityDocument, Submission, SubmissionStatus
from mnvault.collection.reminders import send_due_reminders
from mnvault.collection.tests.conftest import Walker, jpeg
from mnvault.companies.models import CompanyPurpose
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person, PersonPurpose
from mnvault.vault.models import NumberRecord
from mnvault.vault.services import Verification, reveal_number, store_number
from mnvault.web.logfilters import MaskInvitationTokens

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
APPROVE = {"document_kinds": ["my_number_card"], "confirmed": "on"}


def approve_url(personas, submission) -> str:
    return f"/c/{personas.company.pk}/collection/review/{submission.pk}/approve"


def test_a_closed_link_does_not_write_its_token_to_the_log(walker, invited, make_number, caplog):
    walker.register(make_number())
    caplog.set_level(logging.INFO)
    assert Client().get(f"/r/{invited[1]}").status_code == 410
    assert invited[1] not in caplog.text


def test_a_rate_limited_link_does_not_write_its_token_to_the_log(invited, caplog, monkeypatch):
    monkeypatch.setattr(ratelimit, "PER_ADDRESS", (0, 600))
    caplog.set_level(logging.INFO)
    assert Client().get(f"/r/{invited[1]}").status_code == 429
    assert invited[1] not in caplog.text


def test_the_log_filter_masks_a_token_in_any_record():
    record = logging.LogRecord("django.request", 40, "", 0, "Error: %s", ("/r/abcDEF_-123",), None)
    MaskInvitationTokens().filter(record)
    assert "abcDEF" not in record.getMessage() and "/r/" in record.getMessage()


def test_a_failed_reminder_leaves_the_link_working(invited, monkeypatch):
    invitation, token = invited

    def down(**kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(invitations.mail, "send", down)
    assert invitations.remind(invitation, actor=Actor.system("t"), now=timezone.now()) is False
    assert Client().get(f"/r/{token}").status_code == 200
    assert AuditEntry.objects.filter(action="collection.remind", reason="send_failed").exists()


def test_one_failing_reminder_does_not_stop_the_clean_up(invited, walker, make_number, monkeypatch):
    walker.enter_number(make_number())

    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(invitations, "remind", broken)
    later = timezone.now() + timedelta(days=20)
    done = send_due_reminders(now=later)
    assert done["reminders"] == 0 and done["drafts_discarded"] == 1


def test_a_draft_stays_private_until_handed_in(signed_in, personas, walker, make_number):
    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg())
    document = IdentityDocument.objects.get()
    url = f"/c/{personas.company.pk}/collection/documents/{document.pk}"
    assert signed_in(personas.handler).get(url).status_code == 404
    assert not AuditEntry.objects.filter(action="collection.document_view", outcome="ok")


def test_dependents_verified_by_the_employee_get_no_pension_3_purpose(
    signed_in, personas, invitee, make_number
):
    CompanyPurpose.objects.create(company=personas.company, purpose=Purpose.NATIONAL_PENSION_3)
    _, token = invitations.invite(
        acting_user=personas.staff, company=personas.company, people=[invitee], delivery="print"
    ).printed[0]
    Walker(token).register(make_number(), dependents=[make_number()])
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    signed_in(personas.handler).post(approve_url(personas, submission), APPROVE)
    child = Person.objects.get(kind="dependent")
    purposes = set(PersonPurpose.objects.filter(person=child).values_list("purpose", flat=True))
    assert purposes == {Purpose.WITHHOLDING, Purpose.SOCIAL_INSURANCE}
    employee = set(PersonPurpose.objects.filter(person=invitee).values_list("purpose", flat=True))
    assert Purpose.NATIONAL_PENSION_3 in employee


def test_approval_never_replaces_a_number_stored_meanwhile(
    signed_in, personas, walker, invitee, make_number
):
    first, second = make_number(), make_number()
    walker.register(second)
    store_number(
        acting_user=personas.handler,
        person=invitee,
        number=first,
        purposes=[Purpose.WITHHOLDING],
        verification=Verification(channel="in_person", document_kinds=("my_number_card",)),
    )
    submission = Submission.objects.get()
    response = signed_in(personas.handler).post(approve_url(personas, submission), APPROVE)
    assert response.status_code == 400
    assert "既に保管" in response.content.decode()
    shown = reveal_number(acting_user=personas.handler, person=invitee, purpose="withholding")
    assert shown == first
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED


def test_a_dependent_already_on_record_is_not_created_twice(
    signed_in, personas, walker, invitee, make_number
):
    existing = make_person(
        personas.company,
        kind="dependent",
        employee=invitee,
        relationship="child",
        given_name="花子",
        birth_date=date(2015, 5, 5),
    )
    walker.register(make_number(), dependents=[make_number()])
    submission = Submission.objects.get()
    signed_in(personas.handler).post(approve_url(personas, submission), APPROVE)
    assert Person.objects.filter(kind="dependent").count() == 1
    assert NumberRecord.objects.filter(person=existing).exists()


def test_approving_a_submission_handled_meanwhile_is_no_server_error(
    signed_in, personas, walker, make_number, monkeypatch
):
    from mnvault.collection import review
    from mnvault.web.views import review as view

    walker.register(make_number())
    submission = Submission.objects.get()
    stale = Submission.objects.get(pk=submission.pk)
    review.approve(
        acting_user=personas.handler, submission=submission, document_kinds=["my_number_card"]
    )
    monkeypatch.setattr(view, "_submission", lambda request, submission_id: stale)
    client = signed_in(personas.handler)
    client.raise_request_exception = False
    response = client.post(approve_url(personas, submission), APPROVE)
    assert response.status_code == 302


def test_approval_records_only_documents_that_were_uploaded(
    signed_in, personas, walker, make_number
):
    walker.register(make_number())
    submission = Submission.objects.get()
    kinds = {"document_kinds": ["my_number_card", "passport"], "confirmed": "on"}
    response = signed_in(personas.handler).post(approve_url(personas, submission), kinds)
    assert response.status_code == 400
    assert not NumberRecord.objects.exists()


def test_an_action_on_a_link_closed_midway_is_refused_and_audited(
    walker, invited, make_number, personas
):
    walker.acknowledge()
    invitations.revoke(acting_user=personas.staff, invitation=invited[0])
    response = walker.post("/register/number", {"number": make_number()})
    assert response.status_code == 410
    assert AuditEntry.objects.filter(
        action="collection.link_opened", outcome="refused", reason="link_revoked"
    ).exists()
    assert not Submission.objects.exists()


def test_an_invitation_takes_a_limited_number_of_files(walker, make_number):
    walker.enter_number(make_number())
    for _ in range(MAX_DOCUMENTS):
        walker.upload("my_number_card", jpeg())
    response = walker.upload("my_number_card", jpeg())
    assert response.status_code == 400
    assert IdentityDocument.objects.count() == MAX_DOCUMENTS
    assert AuditEntry.objects.filter(action="collection.document_added", reason="too_many")


def test_codes_by_email_are_limited(personas, invitee):
    from django.core import mail

    from mnvault.collection.models import CollectionSettings
    from mnvault.collection.tests.conftest import invite_by_email

    CollectionSettings.objects.create(company=personas.company, email_code_required=True)
    _, token = invite_by_email(personas.staff, invitee)
    walker = Walker(token)
    walker.verify()
    before = len(mail.outbox)
    for _ in range(5):
        walker.post("/register/code", {"send": "1"})
    assert len(mail.outbox) - before == ratelimit.CODES_PER_INVITATION[0]
