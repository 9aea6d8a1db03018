"""Shared set-up for the benchmarks: a throwaway installation in a temporary data directory.

Each benchmark measures mnvault as an operator would run it, so it starts from ``mnvault init``
(SQLite, the embedded default) rather than from the test settings, and creates its company,
purposes and handler through the real services so the audit chain and roles are genuine.
Django reads its data directory when the settings are imported, so a process can only ever
serve one installation: ``use`` must run before ``django.setup``.
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mnvault.paths import INSTALLATION_VARIABLES

if TYPE_CHECKING:
    from mnvault.companies.models import Company

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PEAK_FILE = "BENCH_PEAK_FILE"
HANDLER = "bench-handler"
PURPOSES = ("withholding", "social_insurance", "employment_insurance")
# Variables that would point mnvault elsewhere than the temporary SQLite installation.
_FOREIGN = INSTALLATION_VARIABLES


def environment(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of the installation in ``data_dir``: none of the caller's installation
    variables, so a stray DATABASE_URL never points a bench at a real database; a bench on
    PostgreSQL names its own (throwaway) database with ``database_url``."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update(
        MNVAULT_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="mnvault.settings",
        MNVAULT_LOG_LEVEL="WARNING",
        MNVAULT_LANGUAGE="en",  # the scripts read the command line's English output
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def scratch(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory beside the others on the same disk as the databases."""
    return tempfile.TemporaryDirectory(prefix=f"mnvault-bench-{prefix}-")


def init(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """Run the real ``mnvault init`` in ``data_dir``; the environment for that installation."""
    env = environment(data_dir, database_url)
    subprocess.run(
        [PYTHON, "-m", "mnvault.cli.main", "init"],
        env=env,
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def use(data_dir: Path, database_url: str | None = None) -> None:
    """Point this process at the installation in ``data_dir`` and set Django up."""
    # Without the foreign variables, plus this installation's.
    env = environment(data_dir, database_url)
    for name in _FOREIGN:
        os.environ.pop(name, None)
    os.environ.update(env)
    import django

    django.setup()


def create_company_with_handler(name: str = "ベンチ株式会社") -> Company:
    """A company notifying ``PURPOSES`` and a handler ``HANDLER``, through the real services:
    installation admin → company → responsible manager → handler, each step audited."""
    from mnvault.accounts.models import Role, User
    from mnvault.accounts.services import create_installation_admin, grant_role
    from mnvault.companies.services import create_company

    admin = create_installation_admin(
        username="bench-admin", email="", password=secrets.token_urlsafe(24)
    )
    company = create_company(acting_user=admin, name=name, purposes=PURPOSES)
    manager = User.objects.create_user(username="bench-manager", password=None)
    grant_role(acting_user=admin, user=manager, company=company, role=Role.RESPONSIBLE_MANAGER)
    handler = User.objects.create_user(username=HANDLER, password=None)
    grant_role(acting_user=manager, user=handler, company=company, role=Role.HANDLER)
    return company


def peak_rss_mb() -> float:
    """This process's own peak resident memory (``VmHWM``). Not ``ru_maxrss``: Linux carries
    the parent's high-water mark across fork and exec into it, so a child started by a large
    parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _write_peak() -> None:
    Path(os.environ[PEAK_FILE]).write_text(f"{peak_rss_mb()}\n")


if os.environ.get(PEAK_FILE):
    # Any benchmark child (workers and ``_cli.py``) reports its peak RSS as it exits.
    atexit.register(_write_peak)


@dataclass(frozen=True)
class Run:
    """A finished child process: wall time, CPU time, peak resident memory and output."""

    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: list[str], env: dict[str, str], workdir: Path) -> Run:
    """Run ``command`` (a benchmark worker or ``_cli.py``) and report its wall time, the CPU
    time ``wait4`` gives for that one child, and the peak RSS it wrote as it exited."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    peak_path = workdir / "child.peak"
    peak_path.unlink(missing_ok=True)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, env={**env, PEAK_FILE: str(peak_path)}, cwd=REPO, stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    peak = float(peak_path.read_text()) if peak_path.exists() else float("nan")
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mb=peak,
        returncode=child.returncode,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def cli(*args: str) -> list[str]:
    """The command line of ``mnvault ARGS…`` through ``_cli.py`` (the console entry point with
    a peak-memory report at exit)."""
    return [PYTHON, str(Path(__file__).with_name("_cli.py")), *args]


def say(message: str) -> None:
    """Progress, on stderr so that the figures on stdout stay clean."""
    print(message, file=sys.stderr, flush=True)
