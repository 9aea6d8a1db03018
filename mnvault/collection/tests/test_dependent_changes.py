"""An invitation for dependents also changes those on record: the employee corrects a
dependent's details or says they are no longer a dependent, seeing names, relationships and
birth dates but never a number; the handler's approval applies it (issue 10, item 8)."""

from __future__ import annotations

from datetime import date

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.collection import dependent_changes, review
from mnvault.collection.models import DependentChange, Submission, SubmissionStatus
from mnvault.collection.tests.conftest import Walker
from mnvault.collection.tests.test_dependents_invitation import (  # noqa: F401
    approved,
    invite_dependents,
)
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
CHANGED = {
    "change-family_name": "佐藤",
    "change-given_name": "花子",
    "change-family_name_kana": "サトウ",
    "change-given_name_kana": "ハナコ",
    "change-relationship": "child",
    "change-birth_date": "2015-05-06",
}


@pytest.fixture
def family(personas, invitee, approved, make_number):  # noqa: F811
    """The approved invitee with two dependents on record (the second added in person), and a
    walker on a new invitation for dependents, past the purposes notice."""
    first = Person.objects.get(employee=invitee)
    second = make_person(
        personas.company,
        kind="dependent",
        employee=invitee,
        relationship="spouse",
        given_name="良子",
        given_name_kana="ヨシコ",
        birth_date=date(1991, 2, 3),
    )
    _invitation, token = invite_dependents(personas.staff, invitee)
    walker = Walker(token)
    walker.acknowledge()
    return first, second, walker


def submit_and_approve(personas, walker, attested=False):
    assert walker.confirm(attested=attested)["Location"].endswith("/register/done")
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    review.approve(acting_user=personas.handler, submission=submission, document_kinds=())
    return submission


def test_the_employee_sees_the_dependents_on_record_but_never_a_number(family, approved):  # noqa: F811
    first, _second, walker = family
    page = walker.get("/register/dependents").content.decode()
    assert "山田 花子" in page and "山田 良子" in page and "1991-02-03" in page
    change = walker.get(f"/register/dependents?change={first.pk}").content.decode()
    assert 'value="山田"' in change and "2015-05-05" in change
    for number in approved:
        for shown in (number, f"{number[:4]} {number[4:8]} {number[8:]}"):
            assert shown not in page and shown not in change


def test_a_changed_and_a_removed_dependent_are_applied_on_approval(family, personas, approved):  # noqa: F811
    first, second, walker = family
    first_number = approved[1]
    assert walker.post("/register/dependents", {"change": first.pk, **CHANGED}).status_code == 302
    assert walker.post("/register/dependents", {"drop": second.pk}).status_code == 302
    confirm = walker.get("/register/confirm").content.decode()
    assert "佐藤 花子" in confirm and "扶養親族ではなくなった" in confirm
    submission = submit_and_approve(personas, walker)  # no new number: nothing to attest

    first.refresh_from_db()
    assert (first.family_name, first.given_name, first.birth_date) == (
        "佐藤",
        "花子",
        date(2015, 5, 6),
    )
    # The number stays with the dependent, under their key, unchanged.
    assert reveal_number(acting_user=personas.handler, person=first, purpose="withholding") == (
        first_number
    )
    assert list(dependent_changes.on_record(first.employee_id)) == [first]
    assert dependent_changes.ended_at(second) and Person.objects.filter(pk=second.pk).exists()
    entries = AuditEntry.objects.filter(detail__submission=submission.pk)
    update = entries.get(action="people.update", person_id=first.pk)
    assert update.detail["fields"] == ["birth_date", "family_name", "family_name_kana"]
    assert entries.filter(action="people.dependent_ended", person_id=second.pk).count() == 1
    approval = AuditEntry.objects.filter(action="collection.approve").latest("pk")
    assert approval.detail["changes"] == 2 and approval.detail["dependents"] == 0
    for entry in AuditEntry.objects.all():
        assert first_number not in str(entry.detail)


def test_a_removed_dependent_is_not_offered_again(family, personas, signed_in):
    first, second, walker = family
    walker.post("/register/dependents", {"drop": second.pk})
    submit_and_approve(personas, walker)
    shown = signed_in(personas.staff).get(f"/c/{personas.company.pk}/people/{second.pk}/")
    assert 'id="dependent-ended"' in shown.content.decode()
    _invitation, token = invite_dependents(personas.staff, first.employee)
    again = Walker(token)
    again.acknowledge()
    page = again.get("/register/dependents").content.decode()
    assert "良子" not in page and "山田 花子" in page
    assert again.post("/register/dependents", {"drop": second.pk}).status_code == 302
    assert not DependentChange.objects.filter(applied_at__isnull=True).exists()


def test_a_change_can_be_taken_back_before_sending(family):
    _first, second, walker = family
    walker.post("/register/dependents", {"drop": second.pk})
    change = DependentChange.objects.get()
    walker.post("/register/dependents", {"undo": change.pk})
    assert not DependentChange.objects.exists()
    assert walker.confirm().status_code == 400  # nothing left to send


def test_another_persons_dependent_cannot_be_changed(family, personas):
    _first, _second, walker = family
    stranger = make_person(personas.company)
    theirs = make_person(
        personas.company, kind="dependent", employee=stranger, relationship="child"
    )
    walker.post("/register/dependents", {"drop": theirs.pk})
    walker.post("/register/dependents", {"change": theirs.pk, **CHANGED})
    assert not DependentChange.objects.exists()
    refused = AuditEntry.objects.filter(action="collection.dependent_change", outcome="refused")
    assert [e.reason for e in refused] == ["not_on_record", "not_on_record"]
    assert walker.get(f"/register/dependents?change={theirs.pk}").status_code == 302


def test_a_change_sent_back_is_not_applied(family, personas):
    first, _second, walker = family
    walker.post("/register/dependents", {"change": first.pk, **CHANGED})
    walker.confirm()
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    review.send_back(acting_user=personas.handler, submission=submission, reason="確認")
    first.refresh_from_db()
    assert first.family_name == "山田"


def test_the_handler_sees_the_changes_on_the_review(family, personas, signed_in):
    first, second, walker = family
    walker.post("/register/dependents", {"change": first.pk, **CHANGED})
    walker.post("/register/dependents", {"drop": second.pk})
    walker.confirm()
    submission = Submission.objects.get(status=SubmissionStatus.SUBMITTED)
    page = signed_in(personas.handler).get(
        f"/c/{personas.company.pk}/collection/review/{submission.pk}/"
    )
    changes = page.content.decode().split('id="changes"')[1].split("</ul>")[0]
    assert "佐藤 花子" in changes and "山田 良子" in changes and "扶養親族ではなくなった" in changes


def test_a_number_typed_into_a_name_is_refused(family, make_number):
    first, _second, walker = family
    number = make_number()
    response = walker.post(
        "/register/dependents", {"change": first.pk, **CHANGED, "change-given_name": number}
    )
    assert response.status_code == 400 and number not in response.content.decode()
    assert not DependentChange.objects.exists()


@pytest.mark.parametrize("value", ["", "abc", "-1", "9" * 40, "１２", "0"])
def test_a_garbled_answer_changes_nothing(family, value):
    _first, _second, walker = family
    assert walker.get(f"/register/dependents?change={value}").status_code < 500
    for name in ("drop", "undo", "change"):
        assert walker.post("/register/dependents", {name: value}).status_code < 500
    assert not DependentChange.objects.exists()
