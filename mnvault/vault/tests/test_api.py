"""The vault API: fields sealed under a person's keys, crypto-shredding, and the one
"decide, audit, act" helper (docs/architecture.md, "The vault API")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person
from mnvault.vault import api
from mnvault.vault.access import Operation
from mnvault.vault.errors import DecryptionFailed, KeyUnavailable, Refused, VaultError
from mnvault.vault.models import DataKey
from mnvault.vault.services import notify_purposes

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
PACKAGE = Path(api.__file__).resolve().parents[1]


def _seal(person: Person, field: str, data: bytes, **kwargs) -> bytes:
    with api.vault_transaction():
        return api.seal_field(person, field, data, **kwargs)


def _open(person: Person, field: str, blob: bytes, **kwargs) -> bytes:
    with api.vault_transaction():
        return api.open_field(person, field, blob, **kwargs)


def test_a_sealed_field_opens_for_its_person_and_field_only(personas, employee):
    other = make_person(personas.company, given_name="次郎")
    blob = _seal(employee, api.Field.NUMBER, b"secret")
    assert _open(employee, api.Field.NUMBER, blob) == b"secret"
    with pytest.raises(DecryptionFailed):
        _open(employee, api.Field.submitted_number("x"), blob)
    _seal(other, api.Field.NUMBER, b"other")  # the other person has a key of their own
    with pytest.raises(DecryptionFailed):
        _open(other, api.Field.NUMBER, blob)


def test_destroying_a_persons_keys_makes_every_field_of_theirs_unreadable(personas, employee):
    number = _seal(employee, api.Field.NUMBER, b"secret")
    photo = _seal(employee, api.Field.document("d1"), b"jpeg", key_ref="photos-of-one-submission")
    kept = make_person(personas.company, given_name="次郎")
    kept_blob = _seal(kept, api.Field.NUMBER, b"kept")

    assert api.destroy_person_keys(employee) == 2

    assert not DataKey.objects.filter(person_id=employee.pk).exists()
    with pytest.raises(KeyUnavailable):
        _open(employee, api.Field.NUMBER, number)
    with pytest.raises(KeyUnavailable):
        _open(employee, api.Field.document("d1"), photo, key_ref="photos-of-one-submission")
    assert _open(kept, api.Field.NUMBER, kept_blob) == b"kept"


def test_a_refused_act_is_audited_and_its_block_never_runs(personas, employee):
    ran = []
    with (
        pytest.raises(Refused),
        api.decide_audit_act(
            actor=Actor.of(personas.staff),
            company=personas.company,
            operation=Operation.STORE,
            person=employee,
        ),
    ):
        ran.append(True)
    assert not ran
    last = AuditEntry.objects.latest("seq")
    assert (last.action, last.outcome, last.reason, last.person_id) == (
        "number.store",
        "refused",
        "role",
        employee.pk,
    )


def test_an_allowed_act_writes_its_entry_with_what_the_block_added(personas, employee):
    with api.decide_audit_act(
        actor=Actor.of(personas.handler),
        company=personas.company,
        operation=Operation.STORE,
        person=employee,
        client_address="192.0.2.1",
    ) as act:
        assert act.person == employee and act.person is not employee  # re-read, not trusted
        act.detail["channel"] = "in_person"
    last = AuditEntry.objects.latest("seq")
    assert (last.action, last.outcome, last.detail, last.client_address) == (
        "number.store",
        "ok",
        {"channel": "in_person"},
        "192.0.2.1",
    )


def test_a_vault_error_in_the_block_rolls_it_back_and_is_audited_as_failed(personas, employee):
    before = Person.objects.count()
    with (
        pytest.raises(VaultError),
        api.decide_audit_act(
            actor=Actor.of(personas.handler),
            company=personas.company,
            operation=Operation.STORE,
            person=employee,
        ),
    ):
        make_person(personas.company, given_name="消える")
        raise VaultError(code="broken")
    assert Person.objects.count() == before
    last = AuditEntry.objects.latest("seq")
    assert (last.action, last.outcome, last.reason) == ("number.store", "failed", "broken")
    assert AuditEntry.objects.filter(outcome="ok").count() == 0


def test_one_refused_person_refuses_the_whole_act(personas, employee):
    notify_purposes(employee, ["withholding"])
    stranger = make_person(personas.company, given_name="未通知")  # no purpose notified
    with (
        pytest.raises(Refused),
        api.decide_audit_act(
            actor=Actor.of(personas.handler),
            company=personas.company,
            operation=Operation.EXPORT,
            also_for=[employee, stranger],
            purpose="withholding",
        ),
    ):
        pytest.fail("the block must not run")
    last = AuditEntry.objects.latest("seq")
    assert (last.outcome, last.reason, last.person_id) == (
        "refused",
        "purpose_not_notified_to_person",
        stranger.pk,
    )


def test_no_module_but_the_vault_api_touches_a_cipher():
    """Only mnvault/vault/api.py (and its tests) may name AES-GCM or seal and open bytes."""
    pattern = re.compile(r"AESGCM|open_sealed|seal\(")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "api.py"
        and "tests" not in path.parts
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_associated_data_of_stored_fields_never_changes():
    """Stored ciphertexts open only with these exact bytes: changing the convention needs a
    data migration that re-seals every field (none so far: drafts and stored numbers have
    always used company|person|field)."""
    assert api.field_aad(1, 2, api.Field.NUMBER) == (
        b"mnvault:v1|company=1|person=2|field=individual_number"
    )
    assert api.Field.submitted_number("s") == "submission:s:number"
    assert api.Field.submitted_dependent("s", "d") == "submission:s:dependent:d"
    assert api.Field.document("d") == "document:d"
    assert api.dek_aad(1, 2, "k1") == b"mnvault:dek:v1|company=1|person=2|kek=k1"
