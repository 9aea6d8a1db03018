"""One company's view of the global audit log: filters in Tokyo days, users confirmed only
within the company, and filter records that hold ids, codes and dates only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.log import record
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.oversight import audit_log as queries
from mnvault.oversight.audit_log import AuditFilters

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def entry(actor, company, action=Action.DEMO_CREATE, person=None, outcome="ok") -> AuditEntry:
    with transaction.atomic():
        return record(
            actor=Actor.of(actor),
            action=action,
            outcome=outcome,
            company_id=company.pk,
            person_id=person.pk if person else None,
        )


def test_a_day_is_a_tokyo_day():
    assert queries.start_of_day(date(2026, 1, 2)) == datetime(2026, 1, 1, 15, 0, tzinfo=UTC)


def test_entries_of_one_company_newest_first(personas):
    ours = [entry(personas.handler, personas.company) for _ in range(3)]
    entry(personas.other_handler, personas.other_company)
    found = list(queries.company_entries(personas.company.pk, AuditFilters()))
    assert found == ours[::-1]


def test_each_filter(personas):
    yamada = make_person(personas.company)
    sato = make_person(personas.company, family_name="佐藤", family_name_kana="サトウ")
    a = entry(personas.handler, personas.company, "number.reveal", yamada)
    b = entry(personas.auditor, personas.company, "number.reveal", sato, outcome="refused")
    c = entry(personas.handler, personas.company, "number.store", sato)
    company = personas.company.pk

    def seqs(**filters) -> list[int]:
        return [e.seq for e in queries.company_entries(company, AuditFilters(**filters))]

    assert seqs(person_id=yamada.pk) == [a.seq]
    assert seqs(person_name="佐藤") == [c.seq, b.seq] == seqs(person_name="サト")
    assert seqs(actor=personas.auditor) == [b.seq]
    assert seqs(action="number.store") == [c.seq]
    assert seqs(outcome="refused") == [b.seq]
    today = a.created_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert seqs(since=today, until=today) == [c.seq, b.seq, a.seq]
    assert seqs(until=date(2000, 1, 1)) == []


def test_actions_present_and_company_users(personas):
    entry(personas.handler, personas.company, "number.store")
    entry(personas.other_handler, personas.other_company, "people.import")
    assert queries.actions_present(personas.company.pk) == ["number.store"]
    assert queries.company_user(personas.company.pk, "handler") == personas.handler
    # A user of another company, or of none, is not confirmed to exist.
    assert queries.company_user(personas.company.pk, "other_handler") is None
    assert queries.company_user(personas.company.pk, "no_role") is None
    assert "other_handler" not in queries.actor_names(personas.company.pk)


def test_the_export_detail_has_field_names_and_plain_values(personas):
    filters = AuditFilters(
        person_id=7, actor=personas.auditor, action="number.reveal", since=date(2026, 1, 2)
    )
    assert filters.as_detail() == {
        "person": 7,
        "actor": "auditor",
        "action": "number.reveal",
        "since": "2026-01-02",
    }
    assert AuditFilters().as_detail() == {}
