"""Bringing an installation up: data directory, secrets, key store, migrations."""

from __future__ import annotations

import os
import secrets

import psycopg
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

from mnvault import paths
from mnvault.audit.checkpoints import ensure_genesis
from mnvault.vault.keys import KeyFileProvider, KeyMaterial, key_file_path


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
    stored number unreadable)."""
    path = key_file_path()
    if path.exists():
        return False
    KeyFileProvider(path, passphrase).save(KeyMaterial.generate())
    return True


def ensure_key_store_database() -> None:
    """On PostgreSQL the key store is a database of its own; create it when it is missing."""
    keys = settings.DATABASES["keys"]
    if keys["ENGINE"] != "django.db.backends.postgresql":
        return
    with psycopg.connect(  # psycopg leaves out the parameters that are None
        host=keys.get("HOST") or None,
        port=keys.get("PORT") or None,
        user=keys.get("USER") or None,
        password=keys.get("PASSWORD") or None,
        dbname="postgres",  # the maintenance database: the others may not exist yet
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [keys["NAME"]])
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(keys["NAME"])))


def migrate(verbosity: int = 0) -> None:
    """The tables, and then the checkpoint file's signed genesis line while nothing is logged
    yet: from then on a missing or emptied file is a failure of ``audit verify``."""
    ensure_key_store_database()
    for alias in ("default", "keys"):
        call_command("migrate", database=alias, verbosity=verbosity, interactive=False)
    ensure_genesis()


def is_initialised() -> bool:
    return key_file_path().exists() and bool(
        os.environ.get("MNVAULT_SECRET_KEY") or paths.read_secret_key()
    )
