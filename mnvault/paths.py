"""Where mnvault keeps its files, and the secure way to write a secret file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
# The first admin's one-time password when the server's output goes to a log; deleted when
# the admin chooses a password of their own.
INITIAL_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name

# Every environment variable that points mnvault at an installation or changes how it runs
# (settings.py and the CLI read them): what tests, benches and scripts remove so that a
# throwaway installation can never reach a real one.
INSTALLATION_VARIABLES = (
    "DATABASE_URL",
    "MNVAULT_KEYSTORE_URL",
    "MNVAULT_DATA_DIR",
    "MNVAULT_SECRET_KEY",
    "MNVAULT_KEY_FILE",
    "MNVAULT_SIGNING_KEY_FILE",
    "MNVAULT_CHECKPOINT_FILE",
    "MNVAULT_CHECKPOINT_WITNESS_FILE",
    "MNVAULT_KEY_PASSPHRASE",
    "MNVAULT_ADMIN_PASSWORD",
    "MNVAULT_LOG_LEVEL",
    "MNVAULT_DEBUG",
    "MNVAULT_ALLOWED_HOSTS",
    "MNVAULT_SMTP_HOST",
    "MNVAULT_SMTP_PORT",
    "MNVAULT_SMTP_USER",
    "MNVAULT_SMTP_PASSWORD",
    "MNVAULT_SMTP_STARTTLS",
    "MNVAULT_SMTP_SSL",
    "MNVAULT_MAIL_FROM",
    "MNVAULT_PUBLIC_URL",
    "MNVAULT_MAX_DOCUMENT_MB",
    "MNVAULT_LANGUAGE",
    "MNVAULT_LOCKOUT_FAILURES",
    "MNVAULT_LOCKOUT_MINUTES",
    "MNVAULT_SIGNIN_ADDRESS_FAILURES",
    "MNVAULT_REVEALS_PER_HOUR",
    "MNVAULT_COMPANY_REVEALS_PER_HOUR",
    "MNVAULT_REAUTH_MINUTES",
)


def data_dir() -> Path:
    return Path(os.environ.get("MNVAULT_DATA_DIR", "./mnvault-data")).resolve()


def read_secret_key() -> str:
    """The Django secret created by ``mnvault init``; empty when not yet initialised, so that
    Django refuses any use of it rather than run with a default (healthchecks' habit)."""
    path = data_dir() / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` so that no other user can ever read it, no reader sees half a file, and
    the new file survives a power cut once this returns: a fresh temporary file (mode 0600,
    unique name, so two writers never share it) is synced, renamed over the target, and the
    directory synced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows has no directory handles to sync; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
