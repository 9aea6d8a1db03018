"""The archive format: a gzip-compressed tar of named members with a ``manifest.json``,
encrypted to an age X25519 recipient. Built and opened in memory, so no clear copy of a
database ever reaches the disk on the way."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
from django.utils.translation import gettext as _

FORMAT = "mnvault-backup"
VERSION = 1
MANIFEST = "manifest.json"


class ArchiveProblem(Exception):
    """A backup that cannot be made or opened; the message is for the operator."""


@dataclass(frozen=True)
class Opened:
    manifest: dict[str, Any]
    members: dict[str, bytes]


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
    manifest: dict[str, Any], members: dict[str, bytes], recipient: Any, to: Path
) -> None:
    """Write the encrypted archive to ``to`` (through a temporary name, renamed when whole)."""
    plain = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=plain, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as tar,
    ):
        for name, data in {MANIFEST: _json(manifest), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    plain.seek(0)
    partial = to.with_name(f".{to.name}.partial")
    with partial.open("wb") as out:
        pyrage.encrypt_io(plain, out, [recipient])
    partial.replace(to)


def open_archive(path: Path, identity: Any, *, kind: str) -> Opened:
    """Decrypt and unpack in memory; a truncated, altered or foreign archive is refused."""
    try:
        sealed = path.read_bytes()
    except OSError:
        raise ArchiveProblem(_("The archive %(name)s cannot be read.") % {"name": path}) from None
    try:
        plain = pyrage.decrypt(sealed, [identity])
    except pyrage.DecryptError as error:
        if "no matching keys" in str(error).lower():
            raise ArchiveProblem(
                _("The archive %(name)s was not encrypted to this private key.")
                % {"name": path.name}
            ) from None
        raise ArchiveProblem(
            _("The archive %(name)s is truncated or altered: it cannot be decrypted.")
            % {"name": path.name}
        ) from None
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
            members = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
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


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, indent=1).encode("utf-8")
