"""The archive format: a gzip-compressed tar of named members with a ``manifest.json``,
encrypted to an age X25519 recipient. Built and opened in memory, so no clear copy of a
database ever reaches the disk on the way."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyrage
from django.utils.translation import gettext as _

FORMAT = "mnvault-backup"
VERSION = 1
MANIFEST = "manifest.json"
# zlib's own default. On a 238 MB data file of 100,000 people (bench/backup.py) level 9, the
# gzip module's default, took 8.1 s for 78.8 MB; 6 takes 5.4 s for 79.1 MB, 1 takes 2.9 s for
# 84.6 MB: the sealed numbers and keys do not compress, the audit log's hashes little more.
COMPRESS_LEVEL = 6
CHUNK = 1 << 20  # bytes a read or write at a time, in and out of the images
Blob = bytes | bytearray  # a member: images are bytearrays, to be patched or filled in place


class ArchiveProblem(Exception):
    """A backup that cannot be made or opened; the message is for the operator."""


@dataclass(frozen=True)
class Opened:
    manifest: dict[str, Any]
    members: dict[str, Blob]


def recipient_from(text: str) -> Any:
    try:
        return pyrage.x25519.Recipient.from_str(text.strip())
    except pyrage.RecipientError:
        raise ArchiveProblem(_("The backup public key is not an age public key (age1…).")) from None


def identity_from_file(path: Path) -> Any:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        raise ArchiveProblem(_("The private key file cannot be read.")) from None
    keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    try:
        return pyrage.x25519.Identity.from_str(keys[0])
    except (IndexError, pyrage.IdentityError):
        raise ArchiveProblem(
            _("The private key file holds no age private key (AGE-SECRET-KEY-1…).")
        ) from None


def write_archive(
    manifest: dict[str, Any], members: Mapping[str, Blob], recipient: Any, to: Path
) -> None:
    """Write the encrypted archive to ``to`` (through a temporary name, renamed when whole)."""
    plain = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=plain, mode="wb", mtime=0, compresslevel=COMPRESS_LEVEL) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, data in {MANIFEST: _json(manifest), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, _View(data))
    plain.seek(0)
    partial = to.with_name(f".{to.name}.partial")
    with partial.open("wb") as out:
        pyrage.encrypt_io(plain, out, [recipient])
    partial.replace(to)


def open_archive(path: Path, identity: Any, *, kind: str) -> Opened:
    """Decrypt and unpack in memory; a truncated, altered or foreign archive is refused."""
    try:
        sealed = path.open("rb")
    except OSError:
        raise ArchiveProblem(_("The archive %(name)s cannot be read.") % {"name": path}) from None
    plain = io.BytesIO()
    try:
        with sealed:
            # Streamed from the file: only the clear tar is held. A stream cut short is
            # reported by age as an I/O error of its reader.
            pyrage.decrypt_io(sealed, plain, [identity])
    except (pyrage.DecryptError, OSError) as error:
        if "no matching keys" in str(error).lower():
            raise ArchiveProblem(
                _("The archive %(name)s was not encrypted to this private key.")
                % {"name": path.name}
            ) from None
        raise ArchiveProblem(
            _("The archive %(name)s is truncated or altered: it cannot be decrypted.")
            % {"name": path.name}
        ) from None
    plain.seek(0)
    try:
        with tarfile.open(fileobj=plain, mode="r:gz") as tar:
            members: dict[str, Blob] = {
                m.name: _read(tar, m) for m in tar.getmembers() if m.isfile()
            }
        del plain
        manifest = json.loads(members.pop(MANIFEST))
    except (tarfile.TarError, OSError, KeyError, ValueError, EOFError):
        raise ArchiveProblem(
            _("The archive %(name)s is damaged: its contents cannot be read.") % {"name": path.name}
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("kind") != kind:
        raise ArchiveProblem(
            _("%(name)s is not an mnvault %(kind)s backup.") % {"name": path.name, "kind": kind}
        )
    return Opened(manifest, members)


class _View(io.RawIOBase):
    """A member's bytes read out in slices for ``tarfile``, without the copy ``io.BytesIO``
    makes of anything but ``bytes`` (an image is a ``bytearray``)."""

    def __init__(self, data: Blob) -> None:
        self._view, self._at = memoryview(data), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self._view[self._at : self._at + len(buffer)]
        buffer[: len(piece)] = piece
        self._at += len(piece)
        return len(piece)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytearray:
    """A member read in slices into one buffer of its size: ``read()`` of the whole would
    join its pieces into a second copy of a database image."""
    data = bytearray(member.size)
    view, at = memoryview(data), 0
    source = cast(io.BufferedReader, tar.extractfile(member))  # a regular file's reader
    while at < member.size:
        got = source.readinto(view[at : at + CHUNK])
        if not got:
            raise EOFError(member.name)
        at += got
    return data


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, indent=1).encode("utf-8")
