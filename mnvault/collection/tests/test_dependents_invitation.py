"""An invitation for dependents only, for an employee whose number is stored (a birth, a
marriage, the year-end changes): sent by the inviters, it skips the number and the documents,
and on approval stores only the new dependents."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from mnvault.audit.models import AuditEntry
from mnvault.collection import invitations, review
from mnvault.collection.invitations import InvitationRefused
from mnvault.collection.models import Invitation, Submission, SubmissionStatus
from mnvault.collection.tests.conftest import LINK, Walker, token_from_mail
from mnvault.collection.tests.test_e2e_registration import Inbox, body_of, free_port
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person
from mnvault.vault.models import NumberRecord
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def smtp(settings):
    """A real SMTP server on localhost (aiosmtpd), as in the end-to-end registration."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def approved(walker, personas, make_number, django_capture_on_commit_callbacks):
    """The invitee registered with one dependent, approved: both numbers stored."""
    own, first_child = make_number(), make_number()
    walker.register(own, dependents=[first_child])
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        review.approve(
            acting_user=personas.handler,
            submission=submission,
            document_kinds=["my_number_card"],
        )
    return own, first_child


def invite_url(personas, person) -> str:
    return f"/c/{personas.company.pk}/collection/people/{person.pk}/invite-dependents"


def invite_dependents(user, person) -> tuple[Invitation, str]:
    result = invitations.invite_for_dependents(acting_user=user, person=person, delivery="email")
    assert len(result.sent) == 1, result
    return result.sent[0], token_from_mail(mail.outbox[-1])


def test_an_approved_employee_adds_a_dependent_and_only_the_new_one_is_stored(
    signed_in, personas, invitee, approved, make_number, smtp
):
    own, first_child = approved
    first = Person.objects.get(employee=invitee)
    first_record = NumberRecord.objects.get(person=first)
    person_page = f"/c/{personas.company.pk}/people/{invitee.pk}/"
    staff = signed_in(personas.staff)
    assert invite_url(personas, invitee) in staff.get(person_page).content.decode()

    response = staff.post(invite_url(personas, invitee), {"delivery": "email"})
    assert response.status_code == 302
    message = smtp.wait(1)
    body = body_of(message)
    assert "ご本人の個人番号はお預かり済み" in body  # the dependents-only wording
    found = LINK.search(body)
    assert found, "no registration link in the e-mail"
    token = found.group(1)
    invitation = Invitation.objects.get(scope=Invitation.Scope.DEPENDENTS)
    entry = AuditEntry.objects.filter(action="collection.invite").latest("pk")
    assert entry.detail["scope"] == "dependents" and entry.detail["invitation"] == invitation.pk

    walker = Walker(token)
    response = walker.acknowledge()
    assert response.status_code == 302 and response["Location"].endswith("/register/dependents")
    assert walker.get("/register/number")["Location"].endswith("/register/dependents")
    assert walker.get("/register/documents")["Location"].endswith("/register/dependents")
    second_child = make_number()
    walker.add_dependent(second_child, given_name="次郎", given_name_kana="ジロウ")
    confirm = walker.get("/register/confirm").content.decode()
    assert "/register/number" not in confirm and "/register/documents" not in confirm
    assert walker.confirm(attested=True)["Location"].endswith("/register/done")

    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    handler = signed_in(personas.handler)
    page = handler.get(f"/c/{personas.company.pk}/collection/review/{submission.pk}/")
    assert page.status_code == 200 and 'id="entered-number"' not in page.content.decode()
    response = handler.post(
        f"/c/{personas.company.pk}/collection/review/{submission.pk}/approve", {"confirmed": "on"}
    )
    assert response.status_code == 302
    second = Person.objects.get(employee=invitee, given_name="次郎")
    assert NumberRecord.objects.get(person=second).channel == "by_employee"
    assert (
        reveal_number(acting_user=personas.handler, person=second, purpose="withholding")
        == second_child
    )
    # The employee's own number and the first dependent's are untouched.
    assert reveal_number(acting_user=personas.handler, person=invitee, purpose="withholding") == own
    assert NumberRecord.objects.get(person=first) == first_record
    shown = reveal_number(acting_user=personas.handler, person=first, purpose="withholding")
    assert shown == first_child
    assert NumberRecord.objects.filter(person=invitee).count() == 1
    entry = AuditEntry.objects.filter(action="collection.approve").latest("pk")
    assert entry.detail["scope"] == "dependents" and entry.detail["dependents"] == 1


def test_the_dependents_only_registration_needs_a_dependent(personas, invitee, approved):
    _invitation, token = invite_dependents(personas.staff, invitee)
    walker = Walker(token)
    walker.acknowledge()
    response = walker.confirm(attested=True)
    assert response.status_code == 400
    assert not Submission.objects.filter(status=SubmissionStatus.SUBMITTED).exists()


def test_a_dependent_already_stored_is_reported_and_nothing_is_stored(
    signed_in, personas, invitee, approved, make_number
):
    _invitation, token = invite_dependents(personas.staff, invitee)
    walker = Walker(token)
    walker.acknowledge()
    walker.add_dependent(make_number())  # the same name and birth date as the first child
    walker.confirm(attested=True)
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    before = NumberRecord.objects.count()
    response = signed_in(personas.handler).post(
        f"/c/{personas.company.pk}/collection/review/{submission.pk}/approve", {"confirmed": "on"}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode() or "errorlist" in response.content.decode()
    assert NumberRecord.objects.count() == before
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SUBMITTED


def test_sending_back_a_dependents_submission_invites_for_dependents_again(
    personas, invitee, approved, make_number
):
    _invitation, token = invite_dependents(personas.staff, invitee)
    walker = Walker(token)
    walker.acknowledge()
    walker.add_dependent(make_number(), given_name="次郎", given_name_kana="ジロウ")
    walker.confirm(attested=True)
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    result = review.send_back(acting_user=personas.handler, submission=submission, reason="名前")
    assert len(result.sent) == 1
    assert result.sent[0].scope == Invitation.Scope.DEPENDENTS and result.sent[0].follows_send_back


@pytest.mark.parametrize("role", ["auditor", "no_role", "other_handler", "installation_admin"])
def test_roles_that_may_not_invite_may_not_invite_for_dependents(personas, invitee, approved, role):
    with pytest.raises(InvitationRefused):
        invitations.invite_for_dependents(
            acting_user=getattr(personas, role), person=invitee, delivery="email"
        )
    assert not Invitation.objects.filter(scope=Invitation.Scope.DEPENDENTS).exists()


@pytest.mark.parametrize("role", ["company_admin", "handler", "responsible_manager", "staff"])
def test_the_inviters_may_invite_for_dependents(personas, invitee, approved, role):
    invite_dependents(getattr(personas, role), invitee)


def test_the_auditor_has_no_button_and_is_refused(signed_in, personas, invitee, approved):
    client = signed_in(personas.auditor)
    page = client.get(f"/c/{personas.company.pk}/people/{invitee.pk}/").content.decode()
    assert invite_url(personas, invitee) not in page
    response = client.post(invite_url(personas, invitee), {"delivery": "email"})
    assert response.status_code in (403, 404)
    assert not Invitation.objects.filter(scope=Invitation.Scope.DEPENDENTS).exists()


def test_no_dependents_invitation_without_a_stored_number_or_for_a_payee(personas, invitee, payee):
    for person in (invitee, payee):
        result = invitations.invite_for_dependents(
            acting_user=personas.staff, person=person, delivery="email"
        )
        assert result.not_needed == [person] and not result.sent


def test_a_bad_delivery_is_refused(signed_in, personas, invitee, approved):
    response = signed_in(personas.staff).post(invite_url(personas, invitee), {"delivery": "fax"})
    assert response.status_code == 302
    assert not Invitation.objects.filter(scope=Invitation.Scope.DEPENDENTS).exists()


def test_another_companys_person_is_404(signed_in, personas):
    stranger = make_person(personas.other_company)
    response = signed_in(personas.staff).post(invite_url(personas, stranger), {"delivery": "email"})
    assert response.status_code == 404
