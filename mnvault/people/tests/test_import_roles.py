"""Only a handler (事務取扱担当者) or responsible manager (事務取扱責任者) of the company imports
numbers (domain R1); everyone else is refused, the refusal is audited, and nothing is stored."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mnvault.accounts.models import Membership, Role
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES
from mnvault.people.csv_import import ImportRejected, import_people
from mnvault.people.models import Person, PersonKind
from mnvault.people.tests.helpers import (
    NOTHING,
    assert_no_number_in,
    counts,
    import_entries,
    person,
    write_people,
)
from mnvault.vault.errors import Refused

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

REFUSED = ["staff", "company_admin", "auditor", "installation_admin", "no_role", "other_handler"]
ALLOWED = ["handler", "responsible_manager"]


@pytest.fixture
def file_numbers(make_number) -> list[str]:
    return [make_number(), make_number()]


@pytest.fixture
def people_file(tmp_path, file_numbers):
    return write_people(
        tmp_path / "people.csv",
        [person(employee_code=f"E{i}", number=n) for i, n in enumerate(file_numbers)],
    )


def new_entries(before: set[int]) -> list[AuditEntry]:
    return list(AuditEntry.objects.exclude(pk__in=before))


@pytest.mark.parametrize("who", REFUSED)
def test_users_who_may_not_handle_numbers_are_refused_and_the_refusal_is_audited(
    personas, people_file, file_numbers, who
):
    user = getattr(personas, who)
    before = set(AuditEntry.objects.values_list("pk", flat=True))

    with pytest.raises(Refused) as refused:
        import_people(people_file, acting_user=user, company=personas.company)

    assert refused.value.code == "role"
    assert counts() == NOTHING
    (entry,) = new_entries(before)
    assert (entry.outcome, entry.reason, entry.actor_id, entry.company_id) == (
        "refused",
        "role",
        user.pk,
        personas.company.pk,
    )
    assert_no_number_in([str(refused.value), str(entry.detail)], file_numbers)


@pytest.mark.parametrize("who", ALLOWED)
def test_handlers_and_responsible_managers_import(personas, people_file, file_numbers, who):
    user = getattr(personas, who)

    report = import_people(people_file, acting_user=user, company=personas.company)

    assert (report.people, report.numbers) == (2, 2)
    (entry,) = import_entries()
    assert (entry.outcome, entry.actor_id) == ("ok", user.pk)
    assert not AuditEntry.objects.filter(outcome="refused").exists()


def test_a_handler_of_another_company_cannot_import_into_this_one_but_into_their_own(
    personas, people_file
):
    with pytest.raises(Refused):
        import_people(people_file, acting_user=personas.other_handler, company=personas.company)

    import_people(people_file, acting_user=personas.other_handler, company=personas.other_company)

    assert not Person.objects.filter(company=personas.company).exists()
    assert Person.objects.filter(company=personas.other_company).count() == 2


def test_a_revoked_handler_is_refused(personas, people_file):
    Membership.objects.filter(user=personas.handler).update(revoked_at=timezone.now())

    with pytest.raises(Refused):
        import_people(people_file, acting_user=personas.handler, company=personas.company)

    assert counts() == NOTHING
    assert AuditEntry.objects.get(outcome="refused").actor_id == personas.handler.pk


def test_an_inactive_handler_is_refused(personas, people_file):
    personas.handler.is_active = False
    personas.handler.save()

    with pytest.raises(Refused):
        import_people(people_file, acting_user=personas.handler, company=personas.company)

    assert counts() == NOTHING


def test_a_handler_limited_to_payees_cannot_import_employees(personas, people_file):
    Membership.objects.filter(user=personas.handler, role=Role.HANDLER).update(
        person_kinds=[PersonKind.PAYEE]
    )

    with pytest.raises(ImportRejected) as rejected:
        import_people(people_file, acting_user=personas.handler, company=personas.company)

    assert rejected.value.report.errors
    assert all("担当外です" in message for _, message in rejected.value.report.errors)
    assert counts() == NOTHING


def test_the_role_is_checked_before_the_file_is_read(personas, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("姓,名\r\n山田,太郎\r\n".encode("utf-16"))

    with pytest.raises(Refused):
        import_people(path, acting_user=personas.staff, company=personas.company)

    assert [e.outcome for e in AuditEntry.objects.all()] == ["refused"]
