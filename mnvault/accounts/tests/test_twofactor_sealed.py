"""Nothing of a second factor in a dump of the data database (issue 13, item 6), and the
devices made before that still work once converted."""

from __future__ import annotations

import base64
import importlib
import subprocess
import time

import pytest
from django.apps import apps
from django.db import connections, transaction
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mnvault.accounts import twofactor
from mnvault.accounts.models import RecoveryCodeDevice, SealedTOTPDevice
from mnvault.conftest import ALL_DATABASES
from mnvault.vault.errors import DecryptionFailed
from mnvault.web.tests.test_signin import enrolled, sign_in, totp_now
from mnvault.web.views.signin import RECOVERY_SESSION_KEY

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def dump(alias: str = "default") -> str:
    """Every column of every table, as text (what pg_dump or a SQLite copy would show)."""
    connection = connections[alias]
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value)
                        out.append(value.hex())
                        out.append(value.decode("latin-1"))
                    else:
                        out.append(str(value))
    return "\n".join(out).lower()


def forms_of(secret: bytes) -> list[str]:
    return [secret.hex(), base64.b32encode(secret).decode().lower().rstrip("=")]


def test_it_keeps_no_totp_secret_nor_recovery_code_in_the_data_database(client, personas):
    device = enrolled(client, personas.handler)
    codes = client.session[RECOVERY_SESSION_KEY]
    secret = twofactor.totp_secret(device)
    text = dump()
    for form in forms_of(secret):
        assert form not in text
    for code in codes:
        assert twofactor.normalise(code) not in text and code not in text
    assert len(codes) == 10 and RecoveryCodeDevice.objects.get().codes.count() == 10
    # ...and yet both still sign in
    client.post(reverse("web:logout"))
    sign_in(client, "handler")
    client.post(reverse("web:code"), {"code": codes[3].upper()})
    assert client.get(reverse("web:home")).status_code == 200
    client.post(reverse("web:logout"))
    sign_in(client, "handler")
    # the phone's device was tried first and refused the recovery code: django-otp holds it
    SealedTOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    client.post(reverse("web:code"), {"code": totp_now(device, steps_ahead=1)})
    assert client.get(reverse("web:home")).status_code == 200
    assert RecoveryCodeDevice.objects.get().codes.count() == 9


def test_a_sealed_secret_copied_onto_another_device_does_not_open(personas):
    mine = twofactor.new_totp_device(personas.handler)
    theirs = twofactor.new_totp_device(personas.responsible_manager)
    theirs.sealed_key = mine.sealed_key
    with pytest.raises(DecryptionFailed):
        twofactor.totp_secret(theirs)


def test_a_device_enrolled_before_sealing_still_signs_in_and_is_converted(client, personas):
    user = personas.handler
    legacy = TOTPDevice.objects.create(user=user, name="mnvault", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery")
    StaticToken.objects.create(device=static, token="abcd2345")
    secret = legacy.bin_key
    assert secret.hex() in dump()  # what a dump held before: the search does find a secret
    sign_in(client, "handler")
    assert client.get(reverse("web:home"))["Location"] == reverse("web:code")  # not re-enrol
    totp = TOTP(secret, 30, 0, 6, 0)
    totp.time = time.time()
    client.post(reverse("web:code"), {"code": f"{totp.token():06d}"})
    assert client.get(reverse("web:home")).status_code == 200
    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    assert twofactor.totp_secret(SealedTOTPDevice.objects.get(user=user)) == secret
    text = dump()
    assert all(form not in text for form in forms_of(secret)) and "abcd2345" not in text
    client.post(reverse("web:logout"))
    sign_in(client, "handler")
    client.post(reverse("web:code"), {"code": "ABCD2345"})
    assert client.get(reverse("web:home")).status_code == 200


def legacy_devices(user) -> str:
    """django-otp's clear devices for ``user``, as mnvault made them before; the hex secret."""
    device = TOTPDevice.objects.create(user=user, name="mnvault", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery")
    StaticToken.objects.create(device=static, token="zzzz7777")
    return device.key


def seal_migration():
    module = "mnvault.accounts.migrations.0004_seal_totp_secrets_and_hash_recovery_codes"
    return importlib.import_module(module).convert_existing


def test_the_migration_converts_what_django_otp_stored(personas):
    key = legacy_devices(personas.handler)
    seal_migration()(apps, None)
    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    phone = SealedTOTPDevice.objects.get(user=personas.handler)
    assert twofactor.totp_secret(phone).hex() == key and phone.confirmed
    device = RecoveryCodeDevice.objects.get(user=personas.handler)
    assert twofactor.use_recovery_code(device, "zzzz7777")
    assert not twofactor.use_recovery_code(device, "zzzz7777")  # single use


def test_without_the_key_file_the_migration_leaves_them_for_serve_to_convert(
    personas, settings, tmp_path
):
    from mnvault.cli import setup
    from mnvault.vault import keys

    key = legacy_devices(personas.handler)
    readable = settings.MNVAULT_KEY_FILE
    settings.MNVAULT_KEY_FILE = tmp_path / "elsewhere.key"
    keys.forget()
    seal_migration()(apps, None)  # does not stop the migration
    assert TOTPDevice.objects.get().key == key and not SealedTOTPDevice.objects.exists()
    settings.MNVAULT_KEY_FILE = readable
    keys.forget()
    assert setup.seal_second_factors() == 2
    assert twofactor.totp_secret(SealedTOTPDevice.objects.get()).hex() == key
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()


def database_dump() -> str:
    """The data database as its own tools dump it: pg_dump on PostgreSQL, iterdump on SQLite."""
    connection = connections["default"]
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        command = ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-U", db["USER"]]
        command += ["-p", str(db["PORT"] or 5432), db["NAME"]]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.lower()
    return "\n".join(connection.connection.iterdump()).lower()


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_dump_of_the_data_database_holds_no_second_factor(personas):
    user = personas.handler
    device = twofactor.new_totp_device(user, confirmed=True)
    with transaction.atomic():
        codes = twofactor.new_recovery_codes(user, 10)
    legacy = TOTPDevice.objects.create(user=personas.responsible_manager, name="old")
    assert legacy.key in database_dump()  # the dump does show what is stored in clear
    legacy.delete()
    text = database_dump()
    assert "sealedtotpdevice" in text  # the tables are in it
    for form in forms_of(twofactor.totp_secret(device)):
        assert form not in text
    for code in codes:
        assert twofactor.normalise(code) not in text
