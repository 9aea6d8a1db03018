"""Real separate processes sharing the task queue: no task runs twice, and the worker that
``mnvault serve`` starts picks tasks up.

As in test_processes.py, the processes share a throw-away installation made by ``mnvault
init`` (SQLite by default; PostgreSQL, in a database of its own, when ``DATABASE_URL`` names
one), not pytest-django's test database, which no other process can see.
"""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from mnvault.audit.tests.test_concurrency import _mnvault, _run
from mnvault.scheduler.tests.sample_tasks import RUNS_FILE_VARIABLE
from mnvault.scheduler.tests.together import python, run_together

pytestmark = pytest.mark.slow

TASKS = 40
WORKERS = 3

ENQUEUE = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from mnvault.scheduler import tasks
    ids = [
        tasks.enqueue("mnvault.scheduler.tests.sample_tasks.record", kwargs={}, label="test").pk
        for _ in range(int(sys.argv[1]))
    ]
    print(json.dumps(ids))
    """
)

# One worker: waits for the start signal so that all of them claim at the same moment, then
# runs the queue dry as `run_pending` does; prints how many tasks it ran.
WORKER = textwrap.dedent(
    """
    import random, sys, time
    from pathlib import Path
    import django
    django.setup()
    from django.db import connection
    from mnvault.scheduler import tasks

    holder, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    # Widen the window between finding a queued task and claiming it, so that the workers
    # often find the same one: only the claim's condition keeps it from running twice.
    oldest_queued = tasks._oldest_queued
    def slow_oldest_queued():
        found = oldest_queued()
        time.sleep(random.random() * 0.01)
        return found
    tasks._oldest_queued = slow_oldest_queued
    connection.ensure_connection()
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.002)
    print(tasks.run_pending(holder=holder))
    """
)

STATES = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from mnvault.scheduler.models import Task
    print(json.dumps(list(Task.objects.order_by("pk").values_list("pk", "status", "claimed_by"))))
    """
)


@pytest.fixture
def task_env(tmp_path, installation) -> dict[str, str]:
    env, _data = installation
    return {**env, "PYTHONUNBUFFERED": "1", RUNS_FILE_VARIABLE: str(tmp_path / "runs.txt")}


def _enqueue(env: dict[str, str], cwd: Path, count: int) -> list[int]:
    queued = _run(python(ENQUEUE, str(count)), env, cwd)
    assert queued.returncode == 0, queued.stderr
    return json.loads(queued.stdout)


def _states(env: dict[str, str], cwd: Path) -> dict[int, tuple[str, str]]:
    found = _run(python(STATES), env, cwd)
    assert found.returncode == 0, found.stderr
    return {pk: (status, holder) for pk, status, holder in json.loads(found.stdout)}


def test_no_task_is_run_by_two_processes(tmp_path, task_env):
    ids = _enqueue(task_env, tmp_path, TASKS)
    outputs = run_together(
        lambda i, ready, go: python(WORKER, f"proc{i}", str(ready), str(go)),
        WORKERS,
        task_env,
        tmp_path,
        "worker",
    )
    counts = [int(out) for out in outputs]

    runs = [line.split() for line in Path(task_env[RUNS_FILE_VARIABLE]).read_text().splitlines()]
    ran = Counter(int(task_id) for _pid, task_id in runs)
    assert sorted(ran) == sorted(ids)
    assert set(ran.values()) == {1}, [task_id for task_id, n in ran.items() if n > 1]
    assert sum(counts) == TASKS
    states = _states(task_env, tmp_path)
    assert {status for status, _holder in states.values()} == {"done"}
    assert len({holder for _status, holder in states.values()}) == sum(1 for n in counts if n)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_done(env: dict[str, str], cwd: Path, ids: list[int], server) -> dict:
    deadline = time.monotonic() + 60
    while True:
        states = _states(env, cwd)
        if all(states[pk][0] == "done" for pk in ids):
            return states
        assert server.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, f"tasks not run: {states}"
        time.sleep(0.3)


def test_the_worker_of_mnvault_serve_runs_queued_tasks(tmp_path, task_env):
    """Queued before the server starts, and while it runs: its worker thread runs both,
    even with --no-scheduler (every server shares the queue)."""
    before = _enqueue(task_env, tmp_path, 1)
    with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
        server = subprocess.Popen(
            _mnvault("serve", "--port", str(_free_port()), "--no-scheduler"),
            env=task_env,
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
        try:
            states = _wait_until_done(task_env, tmp_path, before, server)
            after = _enqueue(task_env, tmp_path, 1)
            states = _wait_until_done(task_env, tmp_path, after, server)
        finally:
            server.terminate()
            server.wait(timeout=30)
    holders = {states[pk][1] for pk in before + after}
    assert [holder.split(":")[1] for holder in holders] == [str(server.pid)]
    assert "Traceback" not in (tmp_path / "err").read_text()
