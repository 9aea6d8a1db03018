"""``mnvault backup verify``, the restore drill (issue 13, item 4): the backup restored by the
real ``mnvault restore`` into a temporary data directory, the audit log verified there, a
sample of numbers opened in memory, then everything removed (on PostgreSQL, two scratch
databases made for the drill and dropped after it). Each step runs as its own
process pointed at the temporary directory, so the live installation's databases, checkpoint
file and journal are read but never written; its key file is used in place, never copied."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.backup import postgres
from mnvault.backup.archive import identity_from_file, open_archive
from mnvault.backup.models import BackupRun, RunKind, RunOutcome
from mnvault.paths import INSTALLATION_VARIABLES
from mnvault.vault import disposal
from mnvault.vault.keys import key_file_path, unlocked_passphrase

SAMPLE = 20  # numbers opened in the restored copy
TIMEOUT = 3600.0  # seconds for each step
# What the restored copy shares with the live installation: how to read the key file, the
# audit signing key when it lives apart, and the language of the messages.
PASSED_THROUGH = ("MNVAULT_KEY_PASSPHRASE", "MNVAULT_SIGNING_KEY_FILE", "MNVAULT_LANGUAGE")


@dataclass(frozen=True)
class DrillResult:
    archive: str
    taken_at: str
    restored: bool
    audit_verified: bool
    sampled: int
    opened: int
    message: str  # the failing step's last line of output, or ""

    @property
    def ok(self) -> bool:
        return self.restored and self.audit_verified and self.opened == self.sampled


def _env(data_dir: Path) -> dict[str, str]:
    """The steps' environment. A passphrase typed at the terminal goes to them here too, in
    the environment (never on a command line, which other users can read), so that no step
    asks for it again, or fails where it cannot ask."""
    env = {k: v for k, v in os.environ.items() if k not in INSTALLATION_VARIABLES}
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    passphrase = unlocked_passphrase()
    if passphrase:
        env["MNVAULT_KEY_PASSPHRASE"] = passphrase
    env.update(
        {
            "MNVAULT_DATA_DIR": str(data_dir),
            "MNVAULT_KEY_FILE": str(key_file_path()),
            "DJANGO_SETTINGS_MODULE": "mnvault.settings",
        }
    )
    return env


def _step(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """One step, without the terminal: nothing in it may wait for an answer (a passphrase
    prompt would wait unseen, its output captured)."""
    return subprocess.run(  # noqa: S603 - our own interpreter and console script
        args,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1][:300] if lines else f"exit {done.returncode}"


def restore_drill(archive: Path, private_key: Path, keys: Path | None) -> DrillResult:
    """Restore, verify and sample in a temporary directory, removed whatever happens. The
    archive is opened here first, so a wrong key or a damaged file is refused plainly."""
    manifest = open_archive(archive, identity_from_file(private_key), kind="data").manifest
    taken = str(manifest.get("taken_at", ""))
    beside = Path(sys.executable).parent / "mnvault"
    mnvault = str(beside) if beside.exists() else (shutil.which("mnvault") or "mnvault")
    work = Path(tempfile.mkdtemp(prefix="mnvault-verify-"))
    scratch: list[str] = []
    try:
        env = _env(work / "data")
        if postgres.is_postgres("default"):
            name = postgres.create_scratch()
            scratch += [name, f"{name}_keys"]
            env["DATABASE_URL"] = postgres.scratch_url(name)
        args = [mnvault, "restore", str(archive.resolve()), "--private-key", str(private_key)]
        if keys is not None:
            args += ["--keys", str(keys.resolve())]
        if disposal.journal_file().exists():
            args += ["--journal", str(disposal.journal_file())]
        done = _step(args, env, work)
        if done.returncode != 0:
            return DrillResult(archive.name, taken, False, False, 0, 0, _last_line(done))
        done = _step([mnvault, "audit", "verify"], env, work)
        if done.returncode != 0:
            return DrillResult(archive.name, taken, True, False, 0, 0, _last_line(done))
        done = _step([sys.executable, "-m", "mnvault.backup.sample", str(SAMPLE)], env, work)
        if done.returncode != 0:
            return DrillResult(archive.name, taken, True, True, 0, 0, _last_line(done))
        counts = json.loads(done.stdout.strip().splitlines()[-1])
        return DrillResult(
            archive.name, taken, True, True, int(counts["sampled"]), int(counts["opened"]), ""
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        postgres.drop_scratch(scratch)


def record_drill(result: DrillResult, *, actor: Actor) -> None:
    """The drill's result in the audit log and for the dashboard."""
    detail = {k: v for k, v in asdict(result).items() if k != "message"}
    now = timezone.now()
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.BACKUP_VERIFY,
            outcome=Outcome.OK if result.ok else Outcome.FAILED,
            reason="" if result.ok else "archive_problem",
            detail=detail,
        )
        BackupRun.objects.create(
            kind=RunKind.VERIFY,
            started_at=now,
            finished_at=now,
            outcome=RunOutcome.OK if result.ok else RunOutcome.FAILED,
            detail=detail,
        )
