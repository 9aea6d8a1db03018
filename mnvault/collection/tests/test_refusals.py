"""A person's refusal to provide their number: recorded with its reason and the dates the
person was asked, shown as a collection status, counted, withdrawn; refused for other roles
and bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mnvault.audit.models import AuditEntry
from mnvault.collection import invitations, refusals
from mnvault.collection.invitations import InvitationRefused
from mnvault.collection.models import NumberRefusal
from mnvault.collection.status import CollectionStatus, status_counts, with_collection_status
from mnvault.collection.tests.conftest import invite_by_email
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def status_of(person) -> str:
    return with_collection_status(Person.objects.filter(pk=person.pk)).get().collection_status


def test_a_refusal_is_recorded_with_its_reason_and_the_requests_made(personas, invitee):
    invitation, _token = invite_by_email(personas.staff, invitee)
    refusal = refusals.record(
        acting_user=personas.staff, person=invitee, reason="Does not wish to give it"
    )
    assert refusal.reason == "Does not wish to give it"
    assert refusal.recorded_by == personas.staff
    requests = refusals.requests_of(invitee)
    assert [r.kind for r in requests] == ["invitation"]
    assert requests[0].at == invitation.created_at
    entry = AuditEntry.objects.get(action="collection.refusal.record")
    assert entry.person_id == invitee.pk
    assert entry.detail == {"refusal": refusal.pk, "requests": 1}
    assert "Does not wish" not in str(entry.detail)  # the reason is personal: not in the log


def test_the_refused_status_wins_over_invitation_states_and_is_counted(personas, invitee):
    invite_by_email(personas.staff, invitee)
    other = make_person(personas.company, family_name="鈴木")
    refusals.record(acting_user=personas.handler, person=invitee, reason="No")
    refusals.record(acting_user=personas.handler, person=other, reason="No")
    assert status_of(invitee) == CollectionStatus.REFUSED
    assert status_of(other) == CollectionStatus.REFUSED
    counts = status_counts(Person.objects.filter(company=personas.company))
    assert counts[CollectionStatus.REFUSED] == 2
    assert counts[CollectionStatus.INVITED] == 0


def test_a_stored_number_wins_over_a_refusal(personas, employee, make_number):
    from mnvault.vault.services import Verification, store_number

    refusals.record(acting_user=personas.staff, person=employee, reason="No")
    store_number(
        acting_user=personas.handler,
        person=employee,
        number=make_number(),
        purposes=["withholding"],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    assert status_of(employee) == CollectionStatus.APPROVED


def test_withdrawing_the_refusal_restores_the_invitation_status(personas, invitee):
    invite_by_email(personas.staff, invitee)
    refusals.record(acting_user=personas.staff, person=invitee, reason="No")
    assert refusals.withdraw(acting_user=personas.company_admin, person=invitee)
    assert status_of(invitee) == CollectionStatus.INVITED
    kept = NumberRefusal.objects.get(person=invitee)
    assert kept.withdrawn_at and kept.withdrawn_by == personas.company_admin
    assert AuditEntry.objects.filter(action="collection.refusal.withdraw").count() == 1
    assert not refusals.withdraw(acting_user=personas.staff, person=invitee)
    # Recorded again later: a new record, the old one kept.
    refusals.record(acting_user=personas.staff, person=invitee, reason="Again no")
    assert NumberRefusal.objects.filter(person=invitee).count() == 2


def test_a_reminder_is_listed_as_a_request(personas, invitee):
    from django.utils import timezone

    from mnvault.audit.actors import Actor

    invitation, _token = invite_by_email(personas.staff, invitee)
    assert invitations.remind(invitation, actor=Actor.system("test"), now=timezone.now())
    assert [r.kind for r in refusals.requests_of(invitee)] == ["invitation", "reminder"]


@pytest.mark.parametrize("role", ["auditor", "no_role", "other_handler", "installation_admin"])
def test_roles_that_may_not_invite_may_not_record_or_withdraw(personas, invitee, role):
    with pytest.raises(InvitationRefused):
        refusals.record(acting_user=getattr(personas, role), person=invitee, reason="No")
    refusals.record(acting_user=personas.staff, person=invitee, reason="No")
    with pytest.raises(InvitationRefused):
        refusals.withdraw(acting_user=getattr(personas, role), person=invitee)
    assert NumberRefusal.objects.get(person=invitee).withdrawn_at is None


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * 501, "number is 1234 5678 9012"],
    ids=["empty", "blank", "too_long", "holds_number"],
)
def test_a_bad_reason_is_refused(personas, invitee, reason, make_number):
    if reason.startswith("number"):
        reason = f"number is {make_number()}"
    with pytest.raises(refusals.RefusalProblem):
        refusals.record(acting_user=personas.staff, person=invitee, reason=reason)
    assert not NumberRefusal.objects.exists()
    assert not AuditEntry.objects.filter(action="collection.refusal.record").exists()


def test_no_refusal_for_a_stored_number_a_dependent_or_twice(personas, employee, stored):
    with pytest.raises(refusals.RefusalProblem):
        refusals.record(acting_user=personas.staff, person=employee, reason="No")
    other = make_person(personas.company, family_name="鈴木")
    dependent = make_person(
        personas.company, kind="dependent", employee=other, relationship="child"
    )
    with pytest.raises(refusals.RefusalProblem):
        refusals.record(acting_user=personas.staff, person=dependent, reason="No")
    refusals.record(acting_user=personas.staff, person=other, reason="No")
    with pytest.raises(refusals.RefusalProblem):
        refusals.record(acting_user=personas.staff, person=other, reason="No")


def test_the_person_page_records_shows_and_withdraws_a_refusal(signed_in, personas, invitee):
    invite_by_email(personas.staff, invitee)
    client = signed_in(personas.staff)
    company = personas.company.pk
    page = reverse("web:person", args=[company, invitee.pk])
    form = reverse("web:record_refusal", args=[company, invitee.pk])
    assert f'action="{form}"' in client.get(page).content.decode()
    response = client.post(
        form,
        {"reason": "Will not give it"},
        follow=True,
    )
    html = response.content.decode()
    assert 'data-status="refused"' in html
    assert "Will not give it" in html and 'id="requests"' in html
    dashboard = client.get(reverse("web:dashboard", args=[company])).content.decode()
    assert 'data-status="refused"' in dashboard
    response = client.post(reverse("web:withdraw_refusal", args=[company, invitee.pk]), follow=True)
    assert 'data-status="invited"' in response.content.decode()


def test_the_auditor_cannot_record_a_refusal_from_the_page(signed_in, personas, invitee):
    client = signed_in(personas.auditor)
    form = reverse("web:record_refusal", args=[personas.company.pk, invitee.pk])
    page = client.get(reverse("web:person", args=[personas.company.pk, invitee.pk]))
    assert form not in page.content.decode()
    response = client.post(form, {"reason": "No"})
    assert response.status_code in (403, 404)
    assert not NumberRefusal.objects.exists()


def test_another_companys_person_is_404(signed_in, personas):
    stranger = make_person(personas.other_company)
    client = signed_in(personas.staff)
    response = client.post(
        reverse("web:record_refusal", args=[personas.company.pk, stranger.pk]), {"reason": "No"}
    )
    assert response.status_code == 404
    assert not NumberRefusal.objects.exists()
