"""Every stored number has its audit entry, one of its own or a bulk entry's count: the check
``audit verify`` runs against the data (docs/threat-model.md)."""

from __future__ import annotations

import random

import pytest
from django.utils import translation

from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.demo import create_demo
from mnvault.vault.auditfacts import numbers_accounted_for
from mnvault.vault.models import NumberRecord
from mnvault.vault.services import Verification, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def english():
    """The messages in English, the language of the assertions (Japanese by default)."""
    with translation.override("en"):
        yield


IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


@pytest.fixture
def stored(personas, make_number):
    people = [make_person(personas.company, family_name=name) for name in ("佐藤", "鈴木")]
    for person in people:
        store_number(
            acting_user=personas.handler,
            person=person,
            number=make_number(),
            purposes=["withholding"],
            verification=IN_PERSON,
        )
    return people


def store_entry(person) -> AuditEntry:
    return AuditEntry.objects.get(action=Action.NUMBER_STORE, person_id=person.pk)


def test_numbers_stored_one_by_one_are_accounted_for(stored):
    assert numbers_accounted_for() is None


def test_no_numbers_nothing_to_account_for(personas):
    assert numbers_accounted_for() is None


def test_a_number_without_its_store_entry_is_named(stored, personas):
    store_entry(stored[1]).delete()
    problem = numbers_accounted_for()
    assert problem is not None
    assert f"person {stored[1].pk} of company {personas.company.pk}" in problem


@pytest.mark.parametrize("outcome", [Outcome.REFUSED, Outcome.FAILED])
def test_a_store_that_did_not_happen_accounts_for_nothing(stored, outcome):
    AuditEntry.objects.filter(pk=store_entry(stored[0]).pk).update(outcome=outcome)
    assert f"person {stored[0].pk} " in (numbers_accounted_for() or "")


def test_an_entry_of_another_company_accounts_for_nothing(stored, personas):
    entry = store_entry(stored[0])
    AuditEntry.objects.filter(pk=entry.pk).update(company_id=personas.other_company.pk)
    assert f"person {stored[0].pk} " in (numbers_accounted_for() or "")


def test_a_replaced_number_needs_no_second_entry(stored, personas, make_number):
    store_number(
        acting_user=personas.handler,
        person=stored[0],
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    assert NumberRecord.objects.filter(person=stored[0]).count() == 1
    assert numbers_accounted_for() is None


@pytest.fixture
def demo(db):
    return create_demo(
        actor=Actor.system("test"), name="デモ株式会社", people=12, rng=random.Random(7)
    )


def test_bulk_stored_numbers_are_accounted_for_by_their_count(demo):
    entry = AuditEntry.objects.get(action=Action.DEMO_CREATE)
    stored = NumberRecord.objects.filter(company=demo.company).count()
    assert entry.detail["numbers"] == stored >= 12  # dependents have numbers too
    assert numbers_accounted_for() is None


def test_bulk_numbers_beyond_the_count_are_caught(demo):
    entry = AuditEntry.objects.get(action=Action.DEMO_CREATE)
    stored = entry.detail["numbers"]
    AuditEntry.objects.filter(pk=entry.pk).update(detail={**entry.detail, "numbers": stored - 1})
    problem = numbers_accounted_for()
    assert problem is not None
    assert f"company {demo.company.pk} holds {stored} numbers" in problem
    assert f"account for only {stored - 1}" in problem


def test_bulk_entry_removed_is_caught(demo):
    AuditEntry.objects.filter(action=Action.DEMO_CREATE).delete()
    assert f"of company {demo.company.pk} has no audit entry" in (numbers_accounted_for() or "")
