"""Sending, printing, withdrawing and reminding invitations, as each role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from mnvault.audit.models import AuditEntry
from mnvault.collection import invitations
from mnvault.collection.invitations import InvitationRefused
from mnvault.collection.mail import MailRefused, send
from mnvault.collection.models import CollectionSettings, Invitation
from mnvault.collection.reminders import send_due_reminders
from mnvault.collection.status import CollectionStatus, with_collection_status
from mnvault.collection.tests.conftest import Walker, invite_by_email, token_from_mail
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def status_of(person) -> str:
    return with_collection_status(Person.objects.filter(pk=person.pk)).get().collection_status


def test_staff_invites_by_email_and_the_mail_holds_the_link_only(personas, invitee):
    invitation, token = invite_by_email(personas.staff, invitee)
    message = mail.outbox[-1]
    assert message.to == ["taro@example.test"]
    assert "株式会社テスト" in message.subject
    assert invitation.expires_at - timezone.now() > timedelta(days=13)
    assert invitation.purposes == ["withholding", "social_insurance"]
    assert status_of(invitee) == CollectionStatus.INVITED
    entry = AuditEntry.objects.get(action="collection.invite")
    assert entry.person_id == invitee.pk and token not in str(entry.detail)


@pytest.mark.parametrize("role", ["auditor", "no_role", "other_handler", "installation_admin"])
def test_roles_that_may_not_invite_are_refused(personas, invitee, role):
    with pytest.raises(InvitationRefused):
        invitations.invite(
            acting_user=getattr(personas, role),
            company=personas.company,
            people=[invitee],
            delivery="email",
        )
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["company_admin", "handler", "responsible_manager"])
def test_other_staff_roles_may_invite(personas, invitee, role):
    invite_by_email(getattr(personas, role), invitee)


def test_invitation_page_is_404_for_the_auditor(signed_in, personas, invitee):
    client = signed_in(personas.auditor)
    url = f"/c/{personas.company.pk}/collection/"
    assert client.get(url).status_code == 404
    response = client.post(f"{url}invite", {"people": invitee.pk, "delivery": "email"})
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_people_without_email_or_birth_date_are_listed_not_invited(personas):
    no_email = make_person(personas.company, birth_date=timezone.localdate())
    no_birth = make_person(personas.company, email="x@example.test")
    result = invitations.invite(
        acting_user=personas.staff,
        company=personas.company,
        people=[no_email, no_birth],
        delivery="email",
    )
    assert result.no_email == [no_email] and result.no_birth_date == [no_birth]
    assert not Invitation.objects.exists() and not mail.outbox


def test_a_new_invitation_withdraws_the_old_link(personas, invitee):
    _, first = invite_by_email(personas.staff, invitee)
    invite_by_email(personas.staff, invitee)
    assert Walker(first).open().status_code == 410


def test_someone_with_a_number_is_not_invited(personas, invitee, make_number):
    from mnvault.vault.services import Verification, store_number

    store_number(
        acting_user=personas.handler,
        person=invitee,
        number=make_number(),
        purposes=["withholding"],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    result = invitations.invite(
        acting_user=personas.staff, company=personas.company, people=[invitee], delivery="email"
    )
    assert result.not_needed == [invitee]


def test_everyone_waiting_is_invited_from_the_page(signed_in, personas, invitee):
    other = make_person(personas.company, birth_date=timezone.localdate(), email="o@example.test")
    client = signed_in(personas.staff)
    response = client.post(
        f"/c/{personas.company.pk}/collection/invite",
        {"everyone_waiting": "1", "delivery": "email"},
    )
    assert response.status_code == 302
    assert {m.to[0] for m in mail.outbox} == {"taro@example.test", "o@example.test"}
    assert status_of(other) == CollectionStatus.INVITED


def test_printed_sheet_shows_the_link_and_a_qr_code_once(signed_in, personas, invitee):
    client = signed_in(personas.staff)
    response = client.post(
        f"/c/{personas.company.pk}/collection/invite", {"people": invitee.pk, "delivery": "print"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'src="data:image/svg+xml' in page
    token = page.split("/r/")[1].split("<")[0]
    assert Walker(token).open().status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert not mail.outbox


def test_withdrawn_invitation_link_stops_working(signed_in, personas, invited):
    invitation, token = invited
    client = signed_in(personas.staff)
    url = f"/c/{personas.company.pk}/collection/invitations/{invitation.pk}/withdraw"
    assert client.post(url).status_code == 302
    assert Walker(token).open().status_code == 410
    assert AuditEntry.objects.filter(action="collection.withdraw", reason="revoked").exists()


def test_other_company_cannot_withdraw(signed_in, personas, invited):
    client = signed_in(personas.other_handler)
    url = f"/c/{personas.company.pk}/collection/invitations/{invited[0].pk}/withdraw"
    assert client.post(url).status_code == 404
    assert Invitation.objects.get().revoked_at is None


def test_reminders_go_every_n_days_with_a_fresh_link(personas, invited):
    _, old = invited
    mail.outbox.clear()
    now = timezone.now()
    assert send_due_reminders(now=now + timedelta(days=2))["reminders"] == 0
    assert send_due_reminders(now=now + timedelta(days=3, minutes=1))["reminders"] == 1
    new = token_from_mail(mail.outbox[-1])
    assert new != old
    assert Walker(old).open().status_code == 404
    assert Walker(new).open().status_code == 200
    assert send_due_reminders(now=now + timedelta(days=4))["reminders"] == 0
    assert Invitation.objects.get().reminders_sent == 1


def test_no_reminder_when_the_company_turned_them_off_or_after_expiry(personas, invited):
    CollectionSettings.objects.create(company=personas.company, reminder_every_days=0)
    assert send_due_reminders(now=timezone.now() + timedelta(days=5))["reminders"] == 0
    CollectionSettings.objects.filter(company=personas.company).update(reminder_every_days=3)
    assert send_due_reminders(now=timezone.now() + timedelta(days=15))["reminders"] == 0


def test_bulk_reminders_from_the_page(signed_in, personas, invited):
    mail.outbox.clear()
    client = signed_in(personas.staff)
    assert client.post(f"/c/{personas.company.pk}/collection/remind").status_code == 302
    assert len(mail.outbox) == 1


def test_an_email_that_would_hold_a_number_is_not_sent(make_number):
    with pytest.raises(MailRefused):
        send(to="a@example.test", template="code", context={"code": make_number(), "minutes": 1})
    assert not mail.outbox


def test_an_imported_number_shows_as_imported_not_approved(
    signed_in, personas, make_number, tmp_path
):
    """No identity check was done or recorded for a number from a CSV (domain R24): it must
    not read as approved, on the dashboard or the people list."""
    from mnvault.collection.status import status_counts
    from mnvault.people.csv_import import import_people
    from mnvault.people.tests.helpers import person, write_people
    from mnvault.vault.models import NumberRecord, VerificationChannel

    path = write_people(tmp_path / "p.csv", [person(employee_code="E9", number=make_number())])
    import_people(path, acting_user=personas.handler, company=personas.company)
    imported = Person.objects.get(employee_code="E9")

    assert NumberRecord.objects.get(person=imported).channel == VerificationChannel.IMPORT
    assert status_of(imported) == CollectionStatus.IMPORTED
    counts = status_counts(Person.objects.filter(company=personas.company))
    assert (counts[CollectionStatus.IMPORTED], counts[CollectionStatus.APPROVED]) == (1, 0)
    people = signed_in(personas.staff).get(f"/c/{personas.company.pk}/people/?collection=imported")
    assert 'data-status="imported">取込みで登録 (本人確認は未実施)' in people.content.decode()


def test_expired_invitation_shows_as_expired(personas, invited, invitee):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert status_of(invitee) == CollectionStatus.EXPIRED


def test_collection_settings_are_changed_by_the_admin_and_audited(signed_in, personas):
    client = signed_in(personas.company_admin)
    url = f"/c/{personas.company.pk}/collection/settings"
    data = {
        "invitation_days": 7,
        "reminder_every_days": 2,
        "email_code_required": "on",
        "document_retention_days": 30,
    }
    assert client.post(url, data).status_code == 302
    found = CollectionSettings.objects.get(company=personas.company)
    assert (found.invitation_days, found.document_retention_days) == (7, 30)
    assert AuditEntry.objects.filter(action="collection.settings.update").exists()
    assert signed_in(personas.staff).get(url).status_code == 404
    bad = client.post(url, {**data, "invitation_days": 0})
    assert bad.status_code == 200 and "invitation_days" in bad.content.decode()


def test_email_code_is_asked_when_the_company_requires_it(personas, invitee):
    CollectionSettings.objects.create(company=personas.company, email_code_required=True)
    _, token = invite_by_email(personas.staff, invitee)
    walker = Walker(token)
    assert walker.verify()["Location"] == "/register/code"
    assert walker.get("/register/purposes")["Location"] == "/register/"
    mail.outbox.clear()
    walker.post("/register/code", {"send": "1"})
    code = _code(str(mail.outbox[-1].body))
    walker.post("/register/code", {"code": "000000" if code != "000000" else "111111"})
    assert AuditEntry.objects.filter(reason="wrong_email_code").count() == 1
    assert walker.post("/register/code", {"code": code})["Location"] == "/register/purposes"


def _code(body: str) -> str:
    import re

    found = re.search(r"\b(\d{6})\b", body)
    assert found is not None
    return found.group(1)


def test_staff_selects_people_on_the_list_and_invites_them(signed_in, personas, invitee):
    other = make_person(personas.company, birth_date=timezone.localdate(), email="o@example.test")
    make_person(personas.company, birth_date=timezone.localdate(), email="n@example.test")
    client = signed_in(personas.staff)
    page = client.get(f"/c/{personas.company.pk}/people/").content.decode()
    assert f'name="people" value="{invitee.pk}" form="invite-form"' in page
    response = client.post(
        f"/c/{personas.company.pk}/collection/invite",
        {"people": [invitee.pk, other.pk], "delivery": "email"},
    )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["o@example.test", "taro@example.test"]


def test_people_of_another_company_cannot_be_invited_by_id(signed_in, personas, invitee):
    outsider = make_person(personas.other_company, birth_date=timezone.localdate(), email="x@x.x")
    client = signed_in(personas.staff)
    client.post(
        f"/c/{personas.company.pk}/collection/invite",
        {"people": [outsider.pk], "delivery": "email"},
    )
    assert not Invitation.objects.filter(person=outsider).exists()
    assert not mail.outbox


def test_auditor_sees_no_invitation_checkboxes(signed_in, personas, invitee):
    page = signed_in(personas.auditor).get(f"/c/{personas.company.pk}/people/").content.decode()
    assert "invite-form" not in page


@pytest.mark.parametrize(
    "data",
    [{"delivery": "email"}, {"people": "x", "delivery": "email"}, {"everyone_waiting": "1"}],
    ids=["nobody", "bad-id", "no-delivery"],
)
def test_a_bad_invitation_request_says_so_and_invites_nobody(signed_in, personas, invitee, data):
    client = signed_in(personas.staff)
    response = client.post(f"/c/{personas.company.pk}/collection/invite", data, follow=True)
    assert "招待する人と方法を選んでください。" in response.content.decode()
    assert not Invitation.objects.exists() and not mail.outbox


@pytest.mark.parametrize("role", ["auditor", "other_handler", "no_role"])
def test_roles_that_may_not_invite_cannot_send_reminders(signed_in, personas, invited, role):
    mail.outbox.clear()
    client = signed_in(getattr(personas, role))
    assert client.post(f"/c/{personas.company.pk}/collection/remind").status_code == 404
    assert not mail.outbox
