"""Bringing an installation up: data directory, secrets, key store, migrations."""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Mapping
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django.utils.translation import gettext as _
from psycopg import sql

from mnvault import paths
from mnvault.audit.checkpoints import ensure_genesis
from mnvault.vault import keys
from mnvault.vault.keys import KeyFileProvider, KeyMaterial, SigningKeyFile, key_file_path
from mnvault.vault.models import DataKey, KeyStoreState, NumberRecord
from mnvault.vault.routers import KEY_STORE

# The tables whose rows only the key file opens, by database alias: a new key file beside
# any of them makes them unreadable for good.
WRAPPED = {"default": (NumberRecord,), KEY_STORE: (DataKey, KeyStoreState)}


def ensure_secret_key() -> bool:
    path = paths.data_dir() / paths.SECRET_KEY_FILE
    if path.exists() or os.environ.get("MNVAULT_SECRET_KEY"):
        return False
    value = secrets.token_urlsafe(50)
    paths.write_private_file(path, value.encode("ascii"))
    settings.SECRET_KEY = value
    return True


def ensure_key_file(passphrase: str | None) -> bool:
    """Create the key file once; an existing one is never overwritten (that would make every
    stored number unreadable), and none is made beside databases that already hold keys."""
    path = key_file_path()
    if path.exists():
        return False
    refuse_new_key_file_over_stored_keys()
    apart = keys.signing_key_file_path() is not None
    KeyFileProvider(path, passphrase).save(KeyMaterial.generate(with_signing_key=not apart))
    return True


def refuse_new_key_file_over_stored_keys() -> None:
    """A key file gone missing (a new disk, a restore that forgot it) beside databases that
    hold numbers or wrapped keys: stop before anything is written. A new key would open none
    of them, and the data would look lost while the key file sits in its backup."""
    if key_file_path().exists():
        return
    holding = [table for alias in WRAPPED for table in _tables_with_rows(alias)]
    if holding:
        raise CommandError(
            _(
                "The key file %(path)s is missing, but the databases already hold encrypted "
                "numbers or wrapped keys (%(tables)s). A new key file would open none of them, "
                "so none was created and nothing was changed. Restore the key file from its "
                "backup to %(path)s (a copy made by `mnvault keys export` goes there with "
                "MNVAULT_KEY_PASSPHRASE set to its passphrase), or set MNVAULT_KEY_FILE to "
                "where it is, then run `mnvault init` again."
            )
            % {"path": key_file_path(), "tables": ", ".join(holding)}
        )


def _tables_with_rows(alias: str) -> list[str]:
    """The tables of ``WRAPPED[alias]`` that hold a row. Reads only: a SQLite file that does
    not exist is not created. A key store out of reach holds nothing (on PostgreSQL it may not
    exist yet: ``ensure_key_store_database`` makes it), but a data database out of reach stops
    init: a key file made while the server is down would orphan whatever it holds."""
    connection = connections[alias]
    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3") and not os.path.exists(database["NAME"]):
        return []
    try:
        existing = set(connection.introspection.table_names())
        return [
            model._meta.db_table
            for model in WRAPPED[alias]
            if model._meta.db_table in existing and model._default_manager.using(alias).exists()
        ]
    except DatabaseError as error:
        if alias == KEY_STORE:
            return []
        raise CommandError(
            _(
                "The database cannot be reached (%(error)s), so whether it holds numbers "
                "cannot be checked: no key file was created. Run `mnvault init` again once "
                "it can be reached."
            )
            % {"error": type(error).__name__}
        ) from None


def ensure_signing_key_file(passphrase: str | None) -> str | None:
    """When ``MNVAULT_SIGNING_KEY_FILE`` is set: create that file, with the key the key file
    holds if it holds one (so that the checkpoints signed so far still verify), and then take
    the key out of the key file, or whoever holds the data directory could still sign with
    it. The file is written first: a crash in between leaves the key in both, and running
    ``mnvault init`` again finishes the move. What was done: "created", "moved", "differs"
    (both hold a signing key, and not the same one: nothing is changed), or None."""
    path = keys.signing_key_file_path()
    if path is None:
        return None
    provider = KeyFileProvider(key_file_path(), passphrase) if passphrase else None
    provider = provider or keys.provider(interactive=True)
    material = provider.load()
    seed = material.signing_seed
    created = not path.exists()
    if created:
        SigningKeyFile(path).save(seed or secrets.token_bytes(32))
    if seed is None:
        return "created" if created else None
    if SigningKeyFile(path).load() != seed:
        return "differs"
    provider.save(material.without_signing_key())
    keys.forget()
    return "moved"


def ensure_key_store_database() -> None:
    """On PostgreSQL the key store is a database of its own; create it when it is missing.
    A role that owns its databases and may not create any (no CREATEDB: the least privilege,
    docs/deploy.md) gets the statement to have it created, not a traceback."""
    keys = settings.DATABASES["keys"]
    if keys["ENGINE"] != "django.db.backends.postgresql":
        return
    user = str(keys.get("USER") or "") or None
    try:
        _connect(keys, keys["NAME"]).close()
        return  # it exists and this role may use it: nothing to create
    except psycopg.OperationalError:
        pass  # missing (or out of reach): try to create it, and say so if that fails
    try:
        # The maintenance database: the key store's own does not exist yet.
        with _connect(keys, "postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [keys["NAME"]])
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(keys["NAME"])))
    except (psycopg.errors.InsufficientPrivilege, psycopg.OperationalError) as error:
        raise CommandError(_key_store_missing(keys["NAME"], user, error)) from None


def _connect(alias: Mapping[str, Any], dbname: str) -> psycopg.Connection:
    return psycopg.connect(  # psycopg leaves out the parameters that are None
        host=alias.get("HOST") or None,
        port=alias.get("PORT") or None,
        user=alias.get("USER") or None,
        password=alias.get("PASSWORD") or None,
        dbname=dbname,
        autocommit=True,
    )


def _key_store_missing(name: str, user: str | None, error: Exception) -> str:
    role = user or getpass.getuser()

    def quoted(identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    statement = f"CREATE DATABASE {quoted(name)} OWNER {quoted(role)};"
    return _(
        "The key store database %(name)s does not exist, and the database role %(role)s may "
        "not create it (%(error)s). Ask the database administrator to create it, owned by "
        "%(role)s:\n    %(statement)s\nor: createdb --owner=%(role)s %(name)s\n"
        "Then run `mnvault init` again. (Or point MNVAULT_KEYSTORE_URL at an existing "
        "database; see docs/deploy.md.)"
    ) % {
        "name": name,
        "role": role,
        "error": type(error).__name__,
        "statement": statement,
    }


def migrate(verbosity: int = 0) -> None:
    """The tables, and then the checkpoint file's signed genesis line while nothing is logged
    yet: from then on a missing or emptied file is a failure of ``audit verify``."""
    ensure_key_store_database()
    for alias in ("default", "keys"):
        call_command("migrate", database=alias, verbosity=verbosity, interactive=False)
    ensure_genesis()
    seal_second_factors()


def seal_second_factors() -> int:
    """Phones and recovery codes still in django-otp's clear columns, converted: those the
    migration left because it could not read a passphrase-protected key file (``mnvault init``
    without MNVAULT_KEY_PASSPHRASE). ``mnvault serve`` has unlocked the key file before it
    migrates, so its start converts them; a user who signs in first has theirs converted then."""
    from mnvault.accounts import twofactor
    from mnvault.vault.errors import KeyUnavailable

    try:
        return twofactor.convert_legacy()
    except KeyUnavailable:
        return 0


def is_initialised() -> bool:
    return key_file_path().exists() and bool(
        os.environ.get("MNVAULT_SECRET_KEY") or paths.read_secret_key()
    )
