"""Hourly limits of numbers shown (reveals, and each person of an export): per actor and per
company, decided by the vault and counted from the audit log. The reveal past the limit is
refused, audited, and shows nothing."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.vault.errors import Refused
from mnvault.vault.services import Verification, export_numbers, reveal_number, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


@pytest.fixture
def people(personas, make_number):
    """Three employees with a number stored, notified for withholding."""
    found = []
    for code in ("E1", "E2", "E3"):
        person = make_person(personas.company, employee_code=code)
        store_number(
            acting_user=personas.handler,
            person=person,
            number=make_number(),
            purposes=["withholding"],
            verification=IN_PERSON,
        )
        found.append(person)
    return found


def reveal(user, person):
    return reveal_number(acting_user=user, person=person, purpose="withholding")


def last():
    return AuditEntry.objects.latest("seq")


def test_the_reveal_past_the_hourly_limit_is_refused_and_audited(personas, people, settings):
    settings.MNVAULT_REVEALS_PER_HOUR = 3
    for person in people:
        reveal(personas.handler, person)
    with pytest.raises(Refused) as refused:
        reveal(personas.handler, people[0])
    assert refused.value.code == "reveal_rate"
    entry = last()
    assert (entry.action, entry.outcome, entry.reason, entry.actor_id, entry.person_id) == (
        "number.reveal",
        "refused",
        "reveal_rate",
        personas.handler.pk,
        people[0].pk,
    )


def test_refused_reveals_do_not_use_up_the_limit(personas, people, settings):
    settings.MNVAULT_REVEALS_PER_HOUR = 1
    for _ in range(3):
        with pytest.raises(Refused):
            reveal_number(acting_user=personas.handler, person=people[0], purpose="")
    reveal(personas.handler, people[0])


def test_reveals_older_than_an_hour_no_longer_count(personas, people, settings):
    settings.MNVAULT_REVEALS_PER_HOUR = 2
    reveal(personas.handler, people[0])
    reveal(personas.handler, people[1])
    later = timezone.now() + timedelta(hours=1, minutes=1)
    with mock.patch("mnvault.vault.access.timezone.now", return_value=later):
        reveal(personas.handler, people[2])


def test_the_limit_is_per_user(personas, people, settings):
    settings.MNVAULT_REVEALS_PER_HOUR = 1
    reveal(personas.handler, people[0])
    with pytest.raises(Refused):
        reveal(personas.handler, people[1])
    reveal(personas.responsible_manager, people[1])


def test_the_company_limit_counts_every_user_of_the_company(personas, people, settings):
    settings.MNVAULT_COMPANY_REVEALS_PER_HOUR = 2
    reveal(personas.handler, people[0])
    reveal(personas.responsible_manager, people[1])
    with pytest.raises(Refused) as refused:
        reveal(personas.handler, people[2])
    assert refused.value.code == "company_reveal_rate"
    assert (last().outcome, last().reason) == ("refused", "company_reveal_rate")


def test_a_zero_limit_means_none(personas, people, settings):
    settings.MNVAULT_REVEALS_PER_HOUR = 0
    settings.MNVAULT_COMPANY_REVEALS_PER_HOUR = 0
    for _ in range(3):
        for person in people:
            reveal(personas.handler, person)


def export(user, people):
    return export_numbers(
        acting_user=user,
        company=people[0].company,
        people=people,
        purpose="withholding",
        document="源泉徴収票",
    )


def test_an_export_counts_each_person_and_is_refused_whole_past_the_limit(
    personas, people, settings
):
    settings.MNVAULT_REVEALS_PER_HOUR = 2
    before = AuditEntry.objects.count()
    with pytest.raises(Refused) as refused:
        export(personas.handler, people)  # three numbers: one too many
    assert refused.value.code == "reveal_rate"
    assert AuditEntry.objects.count() == before + 1
    assert (last().action, last().outcome, last().reason) == (
        "number.export",
        "refused",
        "reveal_rate",
    )
    assert len(export(personas.handler, people[:2])) == 2
    with pytest.raises(Refused):
        reveal(personas.handler, people[2])  # the export's two count as shown
