"""Two ``mnvault serve`` processes started at the same moment on a fresh installation: one
creates the first installation administrator, the other finds it there, and both serve
(issue 10, item 21b; before, the loser crashed on accounts_user_username_key).

Real OS processes against a real installation (``mnvault init`` in a temporary directory, as
in the audit log's concurrency test); both wait at a barrier right before they look for the
first administrator, so that they reach it together. SQLite by default; PostgreSQL when
``DATABASE_URL`` names one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from mnvault.audit.tests.test_concurrency import (  # noqa: F401
    _run,
    database_url,
    installation,
)
from mnvault.cli.tests.runner import free_port
from mnvault.paths import INITIAL_PASSWORD_FILE

pytestmark = pytest.mark.slow
SERVERS = 2

# One server: `mnvault serve`, held at a barrier once its start-up migration check is done,
# right before it looks for the first administrator.
SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import django
    django.setup()
    from django.core.management import call_command
    from mnvault.cli import setup

    port, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    migrate = setup.migrate

    def migrate_then_wait(**options):
        migrate(**options)
        ready.touch()
        while not go.exists():
            time.sleep(0.001)

    setup.migrate = migrate_then_wait
    call_command("serve", "--port", port, "--no-scheduler", "--checkpoint-interval", "3600")
    """
)

REPORT = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from mnvault.accounts.models import User
    from mnvault.audit.models import AuditEntry
    print(json.dumps({
        "admins": User.objects.filter(is_installation_admin=True).count(),
        "users": User.objects.count(),
        "audited": AuditEntry.objects.filter(action="accounts.installation_admin.create").count(),
    }))
    """
)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_two_servers_started_at_once_create_one_first_admin(tmp_path, installation):  # noqa: F811
    env, data = installation
    env = {**env, "PYTHONUNBUFFERED": "1"}
    ports = [free_port() for _ in range(SERVERS)]
    ready = [tmp_path / f"ready{i}" for i in range(SERVERS)]
    go = tmp_path / "go"
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", SERVER, str(ports[i]), str(ready[i]), str(go)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(SERVERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready):
            assert all(s.poll() is None for s in servers), "a server died before the start"
            assert time.monotonic() < deadline, "servers did not get ready"
            time.sleep(0.01)
        go.touch()
        deadline = time.monotonic() + 60
        while not all(_listening(port) for port in ports):
            if any(s.poll() is not None for s in servers):
                break  # one has died: its output says why
            assert time.monotonic() < deadline, "servers did not start listening"
            time.sleep(0.05)
        alive = [s.poll() is None for s in servers]
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
        outputs = [server.communicate(timeout=30) for server in servers]
    described = "\n".join(f"--- server {i}\n{out}\n{err}" for i, (out, err) in enumerate(outputs))
    assert alive == [True] * SERVERS, described
    assert "IntegrityError" not in described
    created = [out for out, _err in outputs if "one-time password" in out]
    assert len(created) == 1, described
    assert (data / INITIAL_PASSWORD_FILE).exists()
    report = _run([sys.executable, "-c", REPORT], env, tmp_path)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout) == {"admins": 1, "users": 1, "audited": 1}
