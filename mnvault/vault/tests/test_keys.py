"""Key files (plain and passphrase-protected) and KEK rotation."""

from __future__ import annotations

import json
import stat

import pytest

from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.vault import datakeys, keys
from mnvault.vault.errors import KeyFileOutdated, KeyUnavailable
from mnvault.vault.keys import KeyFileProvider, KeyMaterial
from mnvault.vault.models import DataKey, KeyStoreState, NumberRecord
from mnvault.vault.rotation import rotate_kek
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
    assert list(KeyFileProvider(key_file).load().keks) == ["k2"]
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
    assert sorted(KeyFileProvider(key_file).load().keks) == ["k1", "k2"]
    assert rotate_kek(actor=Actor.system("test"))["kek"] == "k2"
    assert list(KeyFileProvider(key_file).load().keks) == ["k2"]
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
    rotate_kek(actor=Actor.system("test"))  # rotated with the current key file: k1 is gone
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
