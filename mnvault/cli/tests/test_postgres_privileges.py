"""A firm's PostgreSQL deployment with the least privilege (docs/deploy.md): a role that owns
its database and may create none. ``mnvault init`` then cannot create the key store's
database itself; it says so, with the statement to have it created, instead of a traceback
(issue 10, item 21a). Runs on the PostgreSQL server at 127.0.0.1:5432 (or DATABASE_URL's),
skipped when there is none."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import dj_database_url
import psycopg
import pytest
from psycopg import sql

from mnvault.cli.tests.runner import ENGLISH, Installation

SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def _admin() -> psycopg.Connection:
    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url if url.startswith(("postgres", "postgresql")) else SERVER)
    try:
        return psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server to test on: {type(error).__name__}")


@pytest.fixture
def owner_only() -> Iterator[tuple[str, str, str]]:
    """A role without CREATEDB and a database it owns: (role, database, its URL)."""
    tag = uuid.uuid4().hex[:10]
    role, name = f"mnvault_owner_{tag}", f"mnvault_owned_{tag}"
    with _admin() as conn:
        host, port = conn.info.host, conn.info.port
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    try:
        yield role, name, f"postgres://{role}@{host}:{port}/{name}"
    finally:
        with _admin() as conn:
            for db in (name, f"{name}_keys"):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
                )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_init_without_createdb_says_how_to_create_the_key_store(fresh: Installation, owner_only):
    role, name, url = owner_only
    env = {**ENGLISH, "DATABASE_URL": url}
    refused = fresh.run("init", expect=1, env=env)
    statement = f'CREATE DATABASE "{name}_keys" OWNER "{role}";'
    assert statement in refused.err, refused.describe()
    assert f"createdb --owner={role} {name}_keys" in refused.err
    assert "docs/deploy.md" in refused.err
    assert "Traceback" not in refused.err + refused.out

    with _admin() as conn:  # the database administrator does as told
        conn.execute(statement)
    done = fresh.run("init", env=env)
    assert "mnvault is initialised." in done.out
    fresh.run("audit", "verify", env=env)


def test_init_in_japanese_says_it_in_japanese(fresh: Installation, owner_only):
    _role, name, url = owner_only
    refused = fresh.run("init", expect=1, env={"DATABASE_URL": url})
    assert f'"{name}_keys"' in refused.err and "Traceback" not in refused.err
    assert "データベース" in refused.err, refused.describe()


def test_a_role_given_both_databases_needs_no_server_wide_right(fresh: Installation, owner_only):
    """The least-privilege set-up of docs/deploy.md: both databases made for the role."""
    role, name, url = owner_only
    with _admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(f"{name}_keys"), sql.Identifier(role)
            )
        )
    fresh.run("init", env={**ENGLISH, "DATABASE_URL": url})
    fresh.run("init", env={**ENGLISH, "DATABASE_URL": url})  # and again, changing nothing
