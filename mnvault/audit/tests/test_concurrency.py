"""Several processes appending to the audit log at once: appends are serialised, so no entry is
lost, none shares a sequence number and the chain still verifies (docs/architecture.md, "Audit
log").

Real OS processes against a real installation made by ``mnvault init`` in a temporary data
directory, not pytest-django's test database: threads in one process would share Django's
connection handling and prove nothing about the database's own locking. SQLite by default;
PostgreSQL, in a database of its own made for the test, when ``DATABASE_URL`` names one."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from psycopg import sql

from mnvault.paths import INSTALLATION_VARIABLES

pytestmark = pytest.mark.slow

PROCESSES = 4
ENTRIES_EACH = 150
REPO = Path(__file__).resolve().parents[3]

# Environment of the calling shell that must not reach the throw-away installation.
SCRUBBED = INSTALLATION_VARIABLES

# One writer: waits for the start signal so that all of them append at the same time, then
# appends its entries one transaction each, as the application does. The short pause between
# actions is what a real request does too; without it, on SQLite, the writer holding the lock
# takes it again before the others wake up, and the writers run one after the other.
WRITER = textwrap.dedent(
    """
    import random, sys, time
    from pathlib import Path
    import django
    django.setup()
    from django.db import connection, transaction
    from mnvault.audit.log import Actor, record

    label, count, ready, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    connection.ensure_connection()
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.002)
    actor = Actor.system(label)
    for i in range(count):
        with transaction.atomic():
            record(actor=actor, action="audit.verify", detail={"i": i})
        time.sleep(random.random() * 0.004)
    """
)

# What landed, read back in a process of its own: each entry's writer and counter, in seq order.
REPORT = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from mnvault.audit.models import AuditEntry, AuditHead
    rows = list(AuditEntry.objects.order_by("seq").values_list("seq", "actor_label", "detail"))
    times = list(AuditEntry.objects.order_by("seq").values_list("created_at", flat=True))
    ordered = all(a <= b for a, b in zip(times, times[1:]))
    head = AuditHead.objects.values_list("seq", flat=True).get(pk=1)
    print(json.dumps({"head": head, "rows": rows, "times_ordered": ordered}))
    """
)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _mnvault(*args: str) -> list[str]:
    return [sys.executable, "-m", "mnvault.cli.main", *args]


def _postgres_url() -> str | None:
    """The server to use, or None for SQLite (the suite is run once each way)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip(f"no multi-process test for DATABASE_URL scheme {url.split(':')[0]}")
    return url


def _admin_connection(url: str) -> psycopg.Connection:
    config = dj_database_url.parse(url)
    return psycopg.connect(  # psycopg leaves out the parameters that are None
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test alone (and its ``_keys`` twin, which
    ``mnvault init`` creates), dropped afterwards; None on SQLite."""
    url = _postgres_url()
    if url is None:
        yield None
        return
    name = f"mnvault_concurrency_{uuid.uuid4().hex[:12]}"
    with _admin_connection(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        base = url.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with _admin_connection(url) as conn:
            for db in (name, f"{name}_keys"):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
                )


@pytest.fixture
def installation(tmp_path, database_url) -> tuple[dict[str, str], Path]:
    """An initialised installation in ``tmp_path``: the environment to reach it, and the data
    directory."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env |= {
        "MNVAULT_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "mnvault.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    init = _run(_mnvault("init"), env, tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    return env, data


def test_concurrent_appends_lose_nothing_and_the_chain_verifies(tmp_path, installation):
    env, _data = installation
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(PROCESSES)]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"proc{i}", str(ENTRIES_EACH), str(ready[i]), str(go)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready):
            assert all(w.poll() is None for w in writers), "a writer died before the start"
            assert time.monotonic() < deadline, "writers did not get ready"
            time.sleep(0.01)
        go.touch()
        for i, writer in enumerate(writers):
            out, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, f"proc{i} failed:\n{out}\n{err}"
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()

    total = PROCESSES * ENTRIES_EACH
    checked = _run(_mnvault("audit", "verify"), {**env, "MNVAULT_LANGUAGE": "en"}, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"OK: {total} entries, chain intact" in checked.stdout

    report = _run([sys.executable, "-c", REPORT], env, tmp_path)
    assert report.returncode == 0, report.stderr
    landed = json.loads(report.stdout)
    rows = landed["rows"]
    assert landed["head"] == total
    assert landed["times_ordered"], "entry times run backwards along the chain"
    assert [seq for seq, _label, _detail in rows] == list(range(1, total + 1))
    for i in range(PROCESSES):
        # Every entry of every writer, once each, in the order that writer made them.
        mine = [detail["i"] for _seq, label, detail in rows if label == f"proc{i}"]
        assert mine == list(range(ENTRIES_EACH)), f"proc{i}"
    # The writers really ran at the same time: their entries are interleaved, not in blocks.
    switches = sum(1 for a, b in itertools.pairwise(rows) if a[1] != b[1])
    assert switches >= PROCESSES * 4, f"only {switches} switches between writers"

    signed = _run(_mnvault("audit", "checkpoint"), env, tmp_path)
    assert signed.returncode == 0, signed.stderr
    assert f"signed checkpoint at entry #{total}" in signed.stdout
