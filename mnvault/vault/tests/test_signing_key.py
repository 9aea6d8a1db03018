"""The audit signing key: in the key file by default, or in a file of its own named by
``MNVAULT_SIGNING_KEY_FILE`` (docs/threat-model.md), which ``mnvault init`` creates or moves the
key into (``cli.setup.ensure_signing_key_file``)."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import translation

from mnvault.audit import signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import public_key_hex, write_checkpoint
from mnvault.audit.log import record
from mnvault.audit.verify import verify
from mnvault.cli.setup import ensure_key_file, ensure_signing_key_file
from mnvault.conftest import ALL_DATABASES
from mnvault.vault import keys
from mnvault.vault.errors import KeyUnavailable
from mnvault.vault.keys import KeyFileProvider, KeyMaterial, SigningKeyFile


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def apart(settings, tmp_path):
    """The signing key's own file, outside the directory of the key file."""
    path = tmp_path / "elsewhere" / "audit-signing.key"
    settings.MNVAULT_SIGNING_KEY_FILE = path
    keys.forget()
    return path


def key_file_material(settings) -> KeyMaterial:
    return KeyFileProvider(settings.MNVAULT_KEY_FILE).load()


def test_by_default_the_key_file_holds_the_signing_key(settings):
    assert keys.signing_key_file_path() is None
    seed = key_file_material(settings).signing_seed
    assert seed is not None
    assert keys.signing_key().private_bytes_raw() == seed


def test_the_same_key_object_while_its_source_is_unchanged(settings, apart):
    ensure_signing_key_file(None)
    assert keys.signing_key() is keys.signing_key()


def test_init_moves_the_key_out_of_the_key_file(settings, apart):
    before = key_file_material(settings).signing_seed

    assert ensure_signing_key_file(None) == "moved"

    assert key_file_material(settings).signing_seed is None
    assert "signing_seed" not in json.loads(settings.MNVAULT_KEY_FILE.read_text())["material"]
    assert SigningKeyFile(apart).load() == before
    assert stat.S_IMODE(apart.stat().st_mode) == 0o600
    document = json.loads(apart.read_text())
    assert document["format"] == "mnvault-signing-key"
    assert document["public_key"] == public_key_hex(keys.signing_key().public_key())
    assert keys.signing_key().private_bytes_raw() == before
    assert ensure_signing_key_file(None) is None  # nothing left to do


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_what_was_signed_before_the_move_still_verifies(settings, apart):
    settings.MNVAULT_SIGNING_KEY_FILE = None
    keys.forget()
    with transaction.atomic():
        record(actor=Actor.system("test"), action=Action.AUDIT_VERIFY)
    write_checkpoint()
    settings.MNVAULT_SIGNING_KEY_FILE = apart

    ensure_signing_key_file(None)

    with transaction.atomic():
        record(actor=Actor.system("test"), action=Action.AUDIT_VERIFY)
    write_checkpoint()
    result = verify()
    assert result.ok, result.message
    assert (result.entries, result.checkpoints) == (2, 4)


def test_a_move_cut_short_is_finished_by_running_init_again(settings, apart):
    seed = key_file_material(settings).signing_seed
    assert seed is not None
    SigningKeyFile(apart).save(seed)  # the crash came after the new file, before the key file
    assert ensure_signing_key_file(None) == "moved"
    assert key_file_material(settings).signing_seed is None


def test_two_different_signing_keys_are_left_alone(settings, apart):
    SigningKeyFile(apart).save(Ed25519PrivateKey.generate().private_bytes_raw())
    before = settings.MNVAULT_KEY_FILE.read_bytes()
    assert ensure_signing_key_file(None) == "differs"
    assert settings.MNVAULT_KEY_FILE.read_bytes() == before


@pytest.mark.django_db(databases=ALL_DATABASES)  # init looks for stored keys first: none
def test_a_new_installation_never_puts_the_key_in_the_key_file(settings, apart):
    settings.MNVAULT_KEY_FILE.unlink()
    assert ensure_key_file(None)
    assert key_file_material(settings).signing_seed is None
    assert ensure_signing_key_file(None) == "created"
    assert keys.signing_key().private_bytes_raw() == SigningKeyFile(apart).load()


def test_a_protected_key_file_is_moved_under_its_passphrase(settings, apart):
    passphrase = "a long enough passphrase"
    KeyFileProvider(settings.MNVAULT_KEY_FILE, passphrase).save(KeyMaterial.generate())
    assert ensure_signing_key_file(passphrase) == "moved"
    assert KeyFileProvider(settings.MNVAULT_KEY_FILE, passphrase).load().signing_seed is None


def test_the_key_file_alone_gives_no_signing_key_once_it_is_apart(settings, apart):
    """Someone who holds the data directory and runs mnvault without the variable: no key."""
    ensure_signing_key_file(None)
    settings.MNVAULT_SIGNING_KEY_FILE = None
    keys.forget()
    with pytest.raises(KeyUnavailable, match="MNVAULT_SIGNING_KEY_FILE"):
        keys.signing_key()
    with pytest.raises(KeyUnavailable):
        signing.mac_key()


def test_a_missing_signing_key_file_stops_the_command_at_start(settings, apart):
    with pytest.raises(KeyUnavailable, match=r"No audit signing key at .*mnvault init"):
        keys.unlock(interactive=False)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": "mnvault-keyfile"}),
        json.dumps({"format": "mnvault-signing-key", "seed": "not base64!"}),
        json.dumps({"format": "mnvault-signing-key"}),
        json.dumps(["mnvault-signing-key"]),
    ],
    ids=["not json", "another format", "bad seed", "no seed", "not an object"],
)
def test_a_damaged_signing_key_file_says_so(apart, content):
    apart.parent.mkdir(parents=True)
    apart.write_text(content)
    with pytest.raises(KeyUnavailable):
        keys.signing_key()
