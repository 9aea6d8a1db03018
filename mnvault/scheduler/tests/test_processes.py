"""Real separate processes against one database: only one of them runs the jobs, and a
stopped scheduler gives the lease up.

As in the audit log's concurrency test (mnvault/audit/tests/test_concurrency.py), the
processes share a real installation made by ``mnvault init`` in a temporary data directory,
not pytest-django's test database (on SQLite an in-memory database that no other process can
see). SQLite by default; PostgreSQL, in a database of its own made for the test, when
``DATABASE_URL`` names one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The throw-away installation's helpers, as in the audit log's concurrency test (its
# database_url and installation fixtures come through this folder's conftest).
from mnvault.audit.tests.test_concurrency import _mnvault, _run
from mnvault.scheduler.tests.sample_jobs import RUNS_FILE_VARIABLE
from mnvault.scheduler.tests.together import python, run_together

pytestmark = pytest.mark.slow

TICKS = 4

# One contender: waits for the start signal so that all of them try at the same moment, then
# runs TICKS ticks an hour apart (of the job's clock), as a scheduler that keeps the lease
# would; prints the names run at each tick.
CONTENDER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import datetime, timedelta
    from pathlib import Path
    import django
    django.setup()
    from django.db import connection
    from mnvault.scheduler.jobs import Job
    from mnvault.scheduler.runner import run_due_jobs

    holder, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    base, ticks = datetime.fromisoformat(sys.argv[4]), int(sys.argv[5])
    hour = timedelta(hours=1)
    job = Job("test.record", "mnvault.scheduler.tests.sample_jobs.record", hour)
    connection.ensure_connection()
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.002)
    ran = []
    for i in range(ticks):
        ran.append(run_due_jobs(now=base + i * hour, holder=holder, jobs=[job]))
        time.sleep(0.05)
    print(json.dumps(ran))
    """
)

# Puts the lease in the state a test starts from: "absent", or held by a process that died
# ("expired"), or given up ("released").
PREPARE_LEASE = textwrap.dedent(
    """
    import sys
    from datetime import timedelta
    import django
    django.setup()
    from django.utils import timezone
    from mnvault.scheduler import lease

    state = sys.argv[1]
    if state != "absent":
        past = timezone.now() - timedelta(hours=1)
        assert lease.acquire("dead-host:1:00000000", now=past)
    if state == "released":
        assert lease.release("dead-host:1:00000000")
    """
)

HOLDER = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from mnvault.scheduler import lease
    print(json.dumps(lease.current_holder()))
    """
)


@pytest.fixture
def scheduler_env(tmp_path, installation) -> dict[str, str]:
    """The environment of the audit tests' throw-away installation, plus where the sample
    jobs record their runs."""
    env, _data = installation
    return {**env, "PYTHONUNBUFFERED": "1", RUNS_FILE_VARIABLE: str(tmp_path / "runs.txt")}


def _holder(env: dict[str, str], cwd: Path) -> str | None:
    found = _run(python(HOLDER), env, cwd)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def _contend(env: dict[str, str], cwd: Path, count: int) -> list[list[list[str]]]:
    """Start ``count`` contenders, let them go at once; what each ran, tick by tick."""
    base = datetime(2026, 4, 1, tzinfo=UTC).isoformat()
    outputs = run_together(
        lambda i, ready, go: python(CONTENDER, f"proc{i}", str(ready), str(go), base, str(TICKS)),
        count,
        env,
        cwd,
        "contender",
    )
    return [json.loads(out) for out in outputs]


@pytest.mark.parametrize("lease_state", ["absent", "expired", "released"])
def test_only_one_of_two_processes_runs_the_job(tmp_path, scheduler_env, lease_state):
    """Both find the lease free at the same moment (no row yet: both INSERT; an expired or
    released row: both UPDATE); exactly one takes it and keeps it for every tick."""
    prepared = _run(python(PREPARE_LEASE, lease_state), scheduler_env, tmp_path)
    assert prepared.returncode == 0, prepared.stderr

    results = _contend(scheduler_env, tmp_path, count=2)

    winners = [ticks for ticks in results if any(ticks)]
    assert len(winners) == 1, results
    assert winners[0] == [["test.record"]] * TICKS
    assert sum(ticks == [[]] * TICKS for ticks in results) == 1
    runs = Path(scheduler_env[RUNS_FILE_VARIABLE]).read_text().splitlines()
    assert len(runs) == TICKS
    assert len({line.split()[0] for line in runs}) == 1, runs  # all in one process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_scheduler_exits_cleanly_and_releases_the_lease(tmp_path, scheduler_env, signum):
    with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
        process = subprocess.Popen(
            _mnvault("scheduler", "--interval", "0.2"),
            env=scheduler_env,
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 30
            while (holder := _holder(scheduler_env, tmp_path)) is None:
                assert process.poll() is None, (tmp_path / "err").read_text()
                assert time.monotonic() < deadline, "the scheduler never took the lease"
                time.sleep(0.1)
            assert holder.split(":")[1] == str(process.pid)
            process.send_signal(signum)
            assert process.wait(timeout=30) == 0, (tmp_path / "err").read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    printed = (tmp_path / "out").read_text()
    assert "スケジューラを開始しました" in printed
    assert "スケジューラを停止しました" in printed
    assert "Traceback" not in (tmp_path / "err").read_text()
    assert _holder(scheduler_env, tmp_path) is None
