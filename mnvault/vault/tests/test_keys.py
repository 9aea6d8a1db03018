"""Key files (plain and passphrase-protected) and KEK rotation."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from typing import Any

import pytest

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.vault import datakeys, keys
from mnvault.vault.errors import KeyFileOutdated, KeyUnavailable
from mnvault.vault.keys import KeyFileProvider, KeyMaterial
from mnvault.vault.models import DataKey, KeyStoreState, NumberRecord
from mnvault.vault.rotation import destroy_retired_keks, rotate_kek
from mnvault.vault.services import Verification, reveal_number, store_number

IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


def test_the_key_file_is_private(key_file):
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_protected_key_file_holds_no_key_in_clear(tmp_path):
    path, material = tmp_path / "k.key", KeyMaterial.generate()
    KeyFileProvider(path, "a long enough passphrase").save(material)
    document = json.loads(path.read_text())
    assert document["protected"] is True and "material" not in document
    assert KeyFileProvider(path, "a long enough passphrase").load() == material


@pytest.mark.parametrize("passphrase", [None, "the wrong passphrase"])
def test_a_protected_key_file_needs_its_passphrase(tmp_path, passphrase):
    path = tmp_path / "k.key"
    KeyFileProvider(path, "a long enough passphrase").save(KeyMaterial.generate())
    with pytest.raises(KeyUnavailable) as refused:
        KeyFileProvider(path, passphrase).load()
    assert "パスフレーズ" in str(refused.value)


def test_a_missing_or_corrupt_key_file_says_so(tmp_path):
    with pytest.raises(KeyUnavailable, match="mnvault init"):
        KeyFileProvider(tmp_path / "none.key").load()
    (tmp_path / "bad.key").write_text("{not json")
    with pytest.raises(KeyUnavailable, match="鍵ファイルが壊れています"):
        KeyFileProvider(tmp_path / "bad.key").load()


@pytest.fixture
def three_numbers(personas, make_number):
    stored = {}
    for name in ("一郎", "二郎", "三郎"):
        person = make_person(personas.company, given_name=name)
        stored[person] = make_number()
        store_number(
            acting_user=personas.handler,
            person=person,
            number=stored[person],
            purposes=["withholding"],
            verification=IN_PERSON,
        )
    return stored


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_rotation_rewraps_every_key_without_touching_data(personas, three_numbers, key_file):
    ciphertexts = dict(NumberRecord.objects.values_list("pk", "ciphertext"))
    result = rotate_kek(actor=Actor.system("test"), batch_size=2)
    assert result == {"kek": "k2", "rewrapped": 3}
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k2"}
    after = KeyFileProvider(key_file).load()
    assert after.live_kek_ids() == ["k2"] and list(after.retired) == ["k1"]
    assert dict(NumberRecord.objects.values_list("pk", "ciphertext")) == ciphertexts
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-2:] == ["keys.rotate.start", "keys.rotate.done"]
    for person, number in three_numbers.items():
        assert reveal_number(
            acting_user=personas.handler, person=person, purpose="withholding"
        ) == (number)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_interrupted_rotation_resumes_and_loses_nothing(
    personas, three_numbers, key_file, monkeypatch
):
    real_unwrap, calls = datakeys.unwrap, []

    def failing_unwrap(data_key):
        calls.append(data_key.pk)
        if len(calls) > 1:
            raise RuntimeError("power cut")
        return real_unwrap(data_key)

    monkeypatch.setattr(datakeys, "unwrap", failing_unwrap)
    with pytest.raises(RuntimeError):
        rotate_kek(actor=Actor.system("test"), batch_size=1)
    monkeypatch.setattr(datakeys, "unwrap", real_unwrap)
    assert KeyFileProvider(key_file).load().live_kek_ids() == ["k1", "k2"]
    assert rotate_kek(actor=Actor.system("test"))["kek"] == "k2"
    assert KeyFileProvider(key_file).load().live_kek_ids() == ["k2"]
    for person, number in three_numbers.items():
        assert reveal_number(
            acting_user=personas.handler, person=person, purpose="withholding"
        ) == (number)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_process_picks_up_a_key_file_rotated_by_another(
    personas, three_numbers, key_file, make_number
):
    keys.material()  # this process has loaded k1
    provider = KeyFileProvider(key_file)
    provider.save(provider.load().with_new_kek())  # another process rotates to k2 ...
    KeyStoreState.objects.update_or_create(pk=1, defaults={"active_kek_id": "k2"})  # ... step 1
    person = make_person(personas.company, given_name="四郎")
    store_number(
        acting_user=personas.handler,
        person=person,
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    assert DataKey.objects.get(person_id=person.pk).kek_id == "k2"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_key_file_older_than_the_key_store_says_so_instead_of_key_unavailable(
    personas, three_numbers, key_file, make_number
):
    old_copy = key_file.read_bytes()  # a second server's copy, taken before the rotation
    rotate_kek(actor=Actor.system("test"))  # rotated with the current key file: k2 is new
    key_file.write_bytes(old_copy)
    keys.forget()
    person = next(iter(three_numbers))
    with pytest.raises(KeyFileOutdated) as outdated:
        reveal_number(acting_user=personas.handler, person=person, purpose="withholding")
    message = str(outdated.value)
    assert "鍵ストアより古い" in message and str(key_file) in message and "k2" in message
    failed = AuditEntry.objects.filter(action="number.reveal").latest("pk")
    assert failed.reason == "key_file_outdated"
    with pytest.raises(KeyFileOutdated):  # a new number cannot be wrapped either
        store_number(
            acting_user=personas.handler,
            person=make_person(personas.company, given_name="四郎"),
            number=make_number(),
            purposes=["withholding"],
            verification=IN_PERSON,
        )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_key_missing_from_a_current_key_file_is_not_called_outdated(
    personas, three_numbers, key_file
):
    """A data key under a KEK the key file lacks while the key file holds the active KEK is
    another failure (an old key store): it must not send anyone to copy a key file."""
    DataKey.objects.update(kek_id="k0")
    person = next(iter(three_numbers))
    with pytest.raises(KeyUnavailable) as failed:
        reveal_number(acting_user=personas.handler, person=person, purpose="withholding")
    assert not isinstance(failed.value, KeyFileOutdated)


def _key_store_copy() -> tuple[list[dict[str, Any]], str]:
    """The key store's rows as a key-store backup holds them."""
    state = KeyStoreState.objects.get(pk=1).active_kek_id
    return [dict(row) for row in DataKey.objects.values()], state


def _put_back(copy: tuple[list[dict[str, Any]], str]) -> None:
    """The key store restored from that backup."""
    rows, state = copy
    DataKey.objects.all().delete()
    DataKey.objects.bulk_create(DataKey(**row) for row in rows)
    KeyStoreState.objects.filter(pk=1).update(active_kek_id=state)


def _reveal_all(personas, stored) -> dict:
    return {
        person: reveal_number(acting_user=personas.handler, person=person, purpose="withholding")
        for person in stored
    }


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_key_store_backup_taken_before_a_rotation_still_opens_every_number(
    personas, three_numbers, key_file, make_number
):
    datakeys.locked_state()
    before = _key_store_copy()
    rotate_kek(actor=Actor.system("test"))
    _put_back(before)
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k1"}
    assert _reveal_all(personas, three_numbers) == three_numbers
    newcomer = make_person(personas.company, given_name="四郎")
    store_number(
        acting_user=personas.handler,
        person=newcomer,
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    assert DataKey.objects.get(person_id=newcomer.pk).kek_id == "k2", "never under a retired KEK"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_retired_kek_is_destroyed_and_audited_once_its_backups_expired(
    personas, three_numbers, key_file, settings
):
    settings.MNVAULT_KEYSTORE_BACKUP_DAYS = 7
    datakeys.locked_state()
    before = _key_store_copy()
    rotate_kek(actor=Actor.system("test"))
    retired_at = KeyFileProvider(key_file).load().retired_at("k1")

    within = retired_at + timedelta(days=7) - timedelta(minutes=1)
    assert destroy_retired_keks(now=within) == []
    assert "k1" in KeyFileProvider(key_file).load().keks
    assert not AuditEntry.objects.filter(action="keys.retired.destroy").exists()

    past = retired_at + timedelta(days=7, minutes=1)
    assert destroy_retired_keks(now=past) == ["k1"]
    after = KeyFileProvider(key_file).load()
    assert list(after.keks) == ["k2"] and not after.retired and list(after.destroyed) == ["k1"]
    entry = AuditEntry.objects.get(action="keys.retired.destroy")
    assert entry.detail["kek"] == "k1" and entry.detail["rewrapped"] == 0
    assert destroy_retired_keks(now=past) == [], "destroyed once"
    assert _reveal_all(personas, three_numbers) == three_numbers

    _put_back(before)  # a key-store backup older than the window
    with pytest.raises(KeyUnavailable) as refused:
        _reveal_all(personas, three_numbers)
    assert not isinstance(refused.value, KeyFileOutdated)
    assert "k1" in str(refused.value) and "破棄" in str(refused.value)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_keys_still_under_a_retired_kek_are_rewrapped_before_it_is_destroyed(
    personas, three_numbers, key_file
):
    """A key store restored from an older backup inside the window and used since: the
    retired KEK's destruction must not take its numbers with it."""
    datakeys.locked_state()
    before = _key_store_copy()
    rotate_kek(actor=Actor.system("test"))
    _put_back(before)
    past = KeyFileProvider(key_file).load().retired_at("k1") + timedelta(days=8)
    assert destroy_retired_keks(now=past) == ["k1"]
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k2"}
    assert AuditEntry.objects.get(action="keys.retired.destroy").detail["rewrapped"] == 3
    assert _reveal_all(personas, three_numbers) == three_numbers
