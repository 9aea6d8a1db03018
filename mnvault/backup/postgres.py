"""The PostgreSQL half of backup and restore (issue 13, items 1 and 7): ``pg_dump`` of each
database into memory, and ``pg_restore`` back into an empty one, driven through pipes so no
dump is ever written to the disk on its way into (or out of) the encrypted archive.

The data database is dumped under a snapshot exported by a transaction of our own, in which
the audit log's head is read as well: the head the archive's manifest names is then exactly
the last entry the dump holds, whatever the running servers write meanwhile. Connection
settings go to the client programs as libpq's environment variables, never as arguments,
so the password is not on a command line for ``ps`` to show.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Mapping
from typing import IO, Any
from urllib.parse import quote, urlencode

import psycopg
from django.conf import settings
from django.utils.translation import gettext as _
from psycopg import sql

from mnvault.audit.models import AuditEntry
from mnvault.backup.archive import CHUNK, ArchiveProblem

TIMEOUT = 3600.0  # seconds for one dump or restore
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
# Django's OPTIONS that libpq also reads from the environment (the TLS settings a firm uses).
_LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


def is_postgres(alias: str) -> bool:
    return str(settings.DATABASES[alias]["ENGINE"]).endswith("postgresql")


def _config(alias: str) -> Mapping[str, Any]:
    return settings.DATABASES[alias]


def _environment(alias: str) -> dict[str, str]:
    config = _config(alias)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
        "PGAPPNAME": "mnvault-backup",
    }
    for option, value in _options(alias).items():
        values[_LIBPQ_OPTIONS[option]] = value
    env.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    return env


def _options(alias: str) -> dict[str, Any]:
    return {k: v for k, v in (_config(alias).get("OPTIONS") or {}).items() if k in _LIBPQ_OPTIONS}


def _connect(alias: str) -> psycopg.Connection:
    config = _config(alias)
    options = _options(alias)
    return psycopg.connect(  # psycopg leaves out the parameters that are None
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname=config["NAME"],
        **options,
    )


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ArchiveProblem(
            _(
                "%(program)s was not found: install PostgreSQL's client programs (Debian: "
                "postgresql-client) of the server's major version or newer."
            )
            % {"program": name}
        )
    return found


def _failure(program: str, alias: str, stderr: bytes) -> ArchiveProblem:
    """The client's own error lines only, with anything quoted in them left out: a DETAIL or
    CONTEXT line, or a quoted value in the error itself ("invalid input syntax …: \"…\""), may
    show a row's values, and even ciphertext has no business in a message."""
    lines = stderr.decode("utf-8", errors="replace").splitlines()
    errors = [_QUOTED.sub("…", line) for line in lines if line.startswith(f"{program}: error:")]
    return ArchiveProblem(
        _("%(program)s failed on the %(db)s database: %(error)s")
        % {
            "program": program,
            "db": _config(alias)["NAME"],
            "error": (errors[-1] if errors else f"{program}: error")[:300],
        }
    )


def _dump_args(snapshot: str | None) -> list[str]:
    # Uncompressed: the archive compresses every member once. No owner or grants: the
    # restoring role owns what it restores, whatever the dumping role was called.
    args = [_program("pg_dump"), "--format=custom", "--compress=0", "--no-owner"]
    args.append("--no-privileges")
    if snapshot is not None:
        args.append(f"--snapshot={snapshot}")
    return args


def _run(args: list[str], alias: str, stdin: bytes | bytearray | None = None) -> bytes:
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own client, found on PATH
        args,
        input=stdin,
        env=_environment(alias),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise _failure(os.path.basename(args[0]), alias, done.stderr)
    return done.stdout


def _capture(args: list[str], alias: str) -> bytearray:
    """pg_dump's output read into one growing buffer: ``subprocess.run`` gathers it in pieces
    and joins them, two copies of the dump at once (the backup's peak was 401 MB for a 160 MB
    dump of 100,000 people, bench/backup.py --postgres). Its error lines are read alongside,
    so that neither pipe fills up; a dump past ``TIMEOUT`` is killed and reported failed."""
    with subprocess.Popen(  # noqa: S603 - PostgreSQL's own client, found on PATH
        args, env=_environment(alias), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        errors: list[bytes] = []
        stderr = child.stderr
        reader = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
        timer = threading.Timer(TIMEOUT, child.kill)
        reader.start()
        timer.start()
        try:
            image = _read_all(child.stdout)
            child.wait()
        finally:
            timer.cancel()
            reader.join()
    if child.returncode != 0:
        raise _failure(os.path.basename(args[0]), alias, b"".join(errors))
    return image


def _read_all(stream: IO[bytes]) -> bytearray:
    image = bytearray()
    while piece := stream.read(CHUNK):
        image += piece  # grown in place (realloc), not copied whole each time
    return image


def dump(alias: str) -> bytearray:
    """The key store: one database, dumped as one consistent snapshot by pg_dump itself."""
    return _capture(_dump_args(None), alias)


def dump_with_head(alias: str) -> tuple[bytearray, int]:
    """The data database and its audit log's last entry, both as of one exported snapshot
    (the transaction stays open until pg_dump has taken it)."""
    table = AuditEntry._meta.db_table
    try:
        with _connect(alias) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            head = conn.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").fetchone()  # noqa: S608 - our own table's name
            image = _capture(_dump_args(str(snapshot[0] if snapshot else "")), alias)
            conn.rollback()
    except psycopg.Error as error:
        raise ArchiveProblem(
            _("The %(db)s database cannot be read for the backup (%(error)s).")
            % {"db": _config(alias)["NAME"], "error": type(error).__name__}
        ) from None
    return image, int(head[0] if head else 0)


def user_tables(alias: str) -> int:
    """How many tables the database holds outside PostgreSQL's own schemas."""
    try:
        with _connect(alias) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()
    except psycopg.OperationalError as error:
        raise ArchiveProblem(
            _(
                "The %(db)s database cannot be reached (%(error)s): create it empty, owned by "
                "mnvault's role (docs/deploy.md), then restore."
            )
            % {"db": _config(alias)["NAME"], "error": type(error).__name__}
        ) from None
    return int(row[0] if row else 0)


def refuse_non_empty(alias: str) -> None:
    if user_tables(alias):
        raise ArchiveProblem(
            _(
                "The %(db)s database is not empty: restore only into a new, empty database "
                "(createdb), so that nothing of another installation is mixed in."
            )
            % {"db": _config(alias)["NAME"]}
        )


def load(alias: str, image: bytes | bytearray) -> None:
    """The dump into the (empty) database, in one transaction: a failure leaves it empty."""
    args = [_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    args += ["--single-transaction", f"--dbname={_config(alias)['NAME']}"]
    _run(args, alias, stdin=image)


def empty(alias: str) -> None:
    """Take back what ``load`` put into a database this restore had found empty (its ``public``
    schema dropped and made again, as a new database has it)."""
    with _connect(alias) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


# --- scratch databases for the restore drill --------------------------------------------------


def scratch_url(name: str) -> str:
    """A URL for database ``name`` on the data database's server, as the data's role."""
    config = _config("default")
    user = quote(str(config.get("USER") or ""), safe="")
    password = quote(str(config.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(config.get("HOST") or "")
    port = f":{config['PORT']}" if config.get("PORT") else ""
    query = urlencode(_options("default"))
    return f"postgres://{credentials}{host}{port}/{quote(name)}" + (f"?{query}" if query else "")


def create_scratch() -> str:
    """Two new databases for the drill (``<db>_drill_<random>`` and its ``_keys``); their name.
    A role without CREATEDB (the least privilege, docs/deploy.md) is told what the drill needs."""
    name = f"{_config('default')['NAME']}_drill_{secrets.token_hex(4)}"
    made: list[str] = []
    try:
        with _connect("default") as conn:
            conn.autocommit = True
            for each in (name, f"{name}_keys"):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(each)))
                made.append(each)
    except psycopg.Error as error:
        drop_scratch(made)
        raise ArchiveProblem(
            _(
                "The restore drill restores into two scratch databases, and the database role "
                "may not create them (%(error)s). Give the role CREATEDB for the drill (ALTER "
                "ROLE … CREATEDB), or run `mnvault backup verify` with a DATABASE_URL whose "
                "role has it."
            )
            % {"error": type(error).__name__}
        ) from None
    return name


def drop_scratch(names: list[str]) -> None:
    if not names:
        return
    with _connect("default") as conn:
        conn.autocommit = True
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
