"""Failures and races the reviewers found: each one audited, none leaving a number unreadable."""

from __future__ import annotations

import pytest
from django.db import transaction

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person
from mnvault.vault import rotation
from mnvault.vault.errors import DuplicateNumber, KeyUnavailable, Refused, VaultError
from mnvault.vault.keys import KeyFileProvider, KeyMaterial
from mnvault.vault.models import DataKey
from mnvault.vault.services import Verification, export_numbers, reveal_number, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


def _store(user, person, number):
    return store_number(
        acting_user=user,
        person=person,
        number=number,
        purposes=["withholding"],
        verification=IN_PERSON,
    )


def _last():
    return AuditEntry.objects.latest("seq")


def test_a_duplicate_store_is_audited_as_failed(personas, employee, make_number):
    number = make_number()
    _store(personas.handler, employee, number)
    with pytest.raises(DuplicateNumber):
        _store(personas.handler, make_person(personas.company, given_name="次郎"), number)
    assert (_last().action, _last().outcome, _last().reason) == (
        "number.store",
        "failed",
        "duplicate_number",
    )


def test_an_export_of_someone_without_a_number_is_audited_as_failed(personas, employee):
    from mnvault.vault.services import notify_purposes

    notify_purposes(employee, ["withholding"])
    entries = AuditEntry.objects.count()
    with pytest.raises(KeyUnavailable):
        export_numbers(
            acting_user=personas.handler,
            company=personas.company,
            people=[employee],
            purpose="withholding",
            document="源泉徴収票",
        )
    assert AuditEntry.objects.count() == entries + 1
    assert (_last().action, _last().outcome, _last().reason) == (
        "number.export",
        "failed",
        "not_stored",
    )


def test_decisions_rest_on_the_stored_person_not_the_callers_object(
    personas, employee, make_number
):
    from mnvault.accounts.models import Membership

    _store(personas.handler, employee, make_number())
    Membership.objects.filter(user=personas.handler).update(person_kinds=["payee"])
    forged = Person.objects.get(pk=employee.pk)
    forged.kind = "payee"  # a stale or hand-made object claiming another kind
    with pytest.raises(Refused):
        reveal_number(acting_user=personas.handler, person=forged, purpose="withholding")


def test_an_orphaned_key_never_serves_a_later_person(personas, make_number):
    """A key left by a transaction that failed after the key store committed (the person id
    rolled back and may be handed out again) is not taken for the next person's key."""
    person = make_person(personas.company)
    DataKey.objects.create(
        ref="orphan" + "0" * 26,
        company_id=personas.company.pk,
        person_id=person.pk,
        kek_id="k1",
        wrapped=b"\x01" + b"0" * 40,
    )
    number = make_number()
    _store(personas.handler, person, number)
    assert reveal_number(acting_user=personas.handler, person=person, purpose="withholding") == (
        number
    )


def test_a_second_rotation_at_the_same_time_is_refused(key_file):
    with rotation.rotation_lock(key_file), pytest.raises(VaultError) as busy:
        rotation.rotate_kek(actor=Actor.system("test"))
    assert busy.value.code == "rotation_running"
    assert list(KeyFileProvider(key_file).load().keks) == ["k1"]


def test_old_keks_stay_while_any_key_still_needs_them(
    personas, employee, make_number, key_file, monkeypatch
):
    _store(personas.handler, employee, make_number())
    monkeypatch.setattr(rotation, "_rewrap_all", lambda *args: 0)  # a rewrap that missed keys
    with pytest.raises(VaultError) as incomplete:
        rotation.rotate_kek(actor=Actor.system("test"))
    assert incomplete.value.code == "rotation_incomplete"
    assert sorted(KeyFileProvider(key_file).load().keks) == ["k1", "k2"]
    monkeypatch.undo()
    rotation.rotate_kek(actor=Actor.system("test"))
    assert reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")


def test_key_material_never_shows_in_a_repr():
    material = KeyMaterial.generate()
    text = repr(material)
    assert material.keks["k1"].hex() not in text and str(material.keks["k1"]) not in text
    assert str(material.index_secret) not in text and str(material.signing_seed) not in text


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_vault_refuses_to_run_inside_a_callers_transaction(personas, employee):
    """Nested, a refusal's audit entry would roll back with the caller's transaction."""
    with pytest.raises(RuntimeError), transaction.atomic():
        reveal_number(acting_user=personas.staff, person=employee, purpose="withholding")
