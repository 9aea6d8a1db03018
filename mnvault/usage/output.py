"""Where a run's files wait for download, and how the archive with numbers is protected
(domain R44).

The archive is an AES-256 ZIP (WinZip AES, which Windows' own tools since Windows 11 24H2, 7-Zip
and macOS's Archive Utility open) under a random password. The password is made when a handler
starts production, shown to them once, and kept only sealed under a key of its own in the key
store until the archive is written; then that key is shredded. After that nobody — not the
server either — can open the archive without what the handler noted.

Files live under ``$MNVAULT_DATA_DIR/documents/`` (0600) until ``ARCHIVE_HOURS`` have passed;
the scheduler deletes them then (``remove_expired``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pyzipper
from django.utils import timezone

from mnvault import paths
from mnvault.usage.models import DocumentRun

ARCHIVE_HOURS = 24
# Unambiguous characters only (no 0/O, 1/l/I): the password is read off a screen and typed.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS, GROUP_LENGTH = 4, 5  # 4 × 5 characters ≈ 115 bits


def new_password() -> str:
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(GROUP_LENGTH))
        for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def documents_dir() -> Path:
    directory = paths.data_dir() / "documents"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def new_file_name(run_id: int, suffix: str) -> str:
    return f"run-{run_id}-{secrets.token_hex(8)}.{suffix}"


def path_of(name: str) -> Path:
    """The file of a run; names are made here only, never taken from a request."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(name)
    return documents_dir() / name


def expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(hours=ARCHIVE_HOURS)


@contextlib.contextmanager
def private_file(name: str) -> Iterator[BinaryIO]:
    """A new file only its owner reads, removed again if writing it fails."""
    path = path_of(name)
    handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    try:
        with handle:
            yield handle
    except BaseException:
        path.unlink(missing_ok=True)
        raise


Sink = Callable[[str], contextlib.AbstractContextManager[BinaryIO]]


@contextlib.contextmanager
def encrypted_archive(name: str, password: str) -> Iterator[Sink]:
    """An AES-256 ZIP written as it goes: the caller opens one member at a time, so the
    numbers never sit in a file in clear, and memory stays flat however large the run."""
    with (
        private_file(name) as handle,
        pyzipper.AESZipFile(
            handle, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as archive,
    ):
        archive.setpassword(password.encode("ascii"))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)

        def member(member_name: str) -> contextlib.AbstractContextManager[BinaryIO]:
            return archive.open(member_name, "w", force_zip64=True)

        yield member


def remove(name: str) -> None:
    if name:
        with contextlib.suppress(FileNotFoundError):
            path_of(name).unlink()


def remove_expired(*, now: datetime) -> int:
    """The scheduled clean-up: archives past their time are deleted and forgotten, and any
    file under ``documents/`` that no run points at (a crash between writing and recording)
    goes too. Recipients' copies stay while their run is kept (they hold no number)."""
    expired = DocumentRun.objects.filter(output_expires_at__lt=now).exclude(output_name="")
    removed = 0
    for run_id, name in expired.values_list("pk", "output_name"):
        remove(name)
        DocumentRun.objects.filter(pk=run_id, output_name=name).update(output_name="")
        removed += 1
    known = set(DocumentRun.objects.exclude(output_name="").values_list("output_name", flat=True))
    known |= set(DocumentRun.objects.exclude(copies_name="").values_list("copies_name", flat=True))
    grace = now - timedelta(hours=ARCHIVE_HOURS)
    for path in documents_dir().iterdir():
        old = datetime.fromtimestamp(path.stat().st_mtime, tz=now.tzinfo) < grace
        if path.name not in known and old:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
