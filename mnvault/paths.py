"""Where mnvault keeps its files, and the secure way to write a secret file."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


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
    """Write ``data`` so that no other user can ever read it and no reader sees half a file:
    the temporary file is created with mode 0600 and renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
