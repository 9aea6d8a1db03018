"""Key providers: where the key-encryption keys (KEK), the index secret and the audit signing
key come from.

The default is a key file in the data directory (mode 0600) created by ``mnvault init``; the
same file can be protected by a passphrase (Argon2id + AES-GCM), asked for at start or read from
``MNVAULT_KEY_PASSPHRASE``. ``KeyProvider`` is the seam where an external KMS plugs in later.

The audit signing key lives in the key file too, unless ``MNVAULT_SIGNING_KEY_FILE`` names a
file of its own: then whoever holds the data directory and the key file still cannot sign a
rewritten audit log (docs/threat-model.md). ``mnvault init`` creates that file, or moves the
key there from the key file.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import secrets
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils.translation import gettext as _

from mnvault.paths import create_private_file, write_private_file
from mnvault.vault import api
from mnvault.vault.errors import DecryptionFailed, KeyUnavailable

FORMAT = "mnvault-keyfile"
SIGNING_FORMAT = "mnvault-signing-key"
_KDF = {"name": "argon2id", "time_cost": 3, "memory_cost": 65536, "parallelism": 2}
MIN_PASSPHRASE = 12  # characters, for a protected key file and a protected copy alike


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class KeyMaterial:
    """Everything secret that never enters the database. ``signing_seed`` is None when the
    audit signing key is kept in a file of its own (``MNVAULT_SIGNING_KEY_FILE``).

    ``retired`` names the KEKs a rotation replaced, with when (ISO time): they stay in
    ``keks``, still able to open a key store restored from a backup taken before the
    rotation, until every such backup has expired (``MNVAULT_KEYSTORE_BACKUP_DAYS``).
    ``destroyed`` remembers which KEKs were then destroyed, and when (ids and times only), so
    that a key store older than that is named as such rather than as a missing key."""

    keks: dict[str, bytes] = field(repr=False)
    active_kek_id: str
    index_secret: bytes = field(repr=False)
    signing_seed: bytes | None = field(repr=False)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    retired: dict[str, str] = field(default_factory=dict)
    destroyed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, *, with_signing_key: bool = True) -> KeyMaterial:
        return cls(
            keks={"k1": api.new_key()},
            active_kek_id="k1",
            index_secret=secrets.token_bytes(32),
            signing_seed=secrets.token_bytes(32) if with_signing_key else None,
        )

    def kek(self, kek_id: str) -> bytes:
        try:
            return self.keks[kek_id]
        except KeyError:
            raise KeyUnavailable(
                _("The key-encryption key %(kek)s is missing.") % {"kek": kek_id}
            ) from None

    def signing_key(self) -> Ed25519PrivateKey:
        if self.signing_seed is None:
            raise KeyUnavailable(
                _(
                    "The key file holds no audit signing key: it is kept in a file of its own, "
                    "named by MNVAULT_SIGNING_KEY_FILE."
                )
            )
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    def without_signing_key(self) -> KeyMaterial:
        return replace(self, signing_seed=None)

    def with_new_kek(self) -> KeyMaterial:
        known = [*self.keks, *self.destroyed]  # an id is never used twice
        numbers = [int(k[1:]) for k in known if k.startswith("k") and k[1:].isdigit()]
        new_id = f"k{max(numbers, default=0) + 1}"
        return replace(self, keks={**self.keks, new_id: api.new_key()}, active_kek_id=new_id)

    def live_kek_ids(self) -> list[str]:
        """The KEKs not retired: the active one, and a new one an interrupted rotation made."""
        return [k for k in self.keks if k not in self.retired]

    def retiring(self, kek_ids: list[str], at: datetime) -> KeyMaterial:
        if self.active_kek_id in kek_ids:
            raise ValueError("the active KEK cannot be retired")
        marked = {k: at.isoformat() for k in kek_ids if k in self.keks}
        return replace(self, retired={**self.retired, **marked})

    def retired_at(self, kek_id: str) -> datetime:
        return datetime.fromisoformat(self.retired[kek_id])

    def destroyed_at(self, kek_id: str) -> datetime:
        return datetime.fromisoformat(self.destroyed[kek_id])

    def without_kek(self, kek_id: str, *, at: datetime | None = None) -> KeyMaterial:
        """The material with ``kek_id`` gone; ``at`` records it as destroyed then."""
        if kek_id == self.active_kek_id:
            raise ValueError("the active KEK cannot be removed")
        destroyed = {**self.destroyed, kek_id: at.isoformat()} if at else self.destroyed
        return replace(
            self,
            keks={k: v for k, v in self.keks.items() if k != kek_id},
            retired={k: v for k, v in self.retired.items() if k != kek_id},
            destroyed=destroyed,
        )

    def to_json(self) -> dict[str, Any]:
        document = {
            "keks": {k: _b64(v) for k, v in self.keks.items()},
            "active_kek_id": self.active_kek_id,
            "index_secret": _b64(self.index_secret),
            "created_at": self.created_at,
        }
        if self.signing_seed is not None:
            document["signing_seed"] = _b64(self.signing_seed)
        if self.retired:
            document["retired"] = dict(self.retired)
        if self.destroyed:
            document["destroyed"] = dict(self.destroyed)
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyMaterial:
        seed = data.get("signing_seed")
        return cls(
            keks={k: _unb64(v) for k, v in data["keks"].items()},
            active_kek_id=data["active_kek_id"],
            index_secret=_unb64(data["index_secret"]),
            signing_seed=_unb64(seed) if seed is not None else None,
            created_at=data["created_at"],
            retired=dict(data.get("retired", {})),
            destroyed=dict(data.get("destroyed", {})),
        )


class KeyProvider(ABC):
    """Gives the key material; ``save`` is used by KEK rotation."""

    @abstractmethod
    def load(self) -> KeyMaterial: ...

    @abstractmethod
    def save(self, material: KeyMaterial) -> None: ...


class KeyFileProvider(KeyProvider):
    """A key file, in clear (protected by its 0600 mode) or under a passphrase."""

    def __init__(self, path: Path, passphrase: str | None = None) -> None:
        self.path = path
        self.passphrase = passphrase

    def load(self) -> KeyMaterial:
        try:
            document = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise KeyUnavailable(
                _("No key file at %(path)s: run `mnvault init` first.") % {"path": self.path}
            ) from None
        except ValueError:
            raise KeyUnavailable(_("The key file is corrupt.")) from None
        if document.get("format") != FORMAT:
            raise KeyUnavailable(_("This is not an mnvault key file."))
        if document.get("protected"):
            document = self._unprotect(document)
        return KeyMaterial.from_json(document["material"])

    def save(self, material: KeyMaterial) -> None:
        write_private_file(self.path, self._document(material))

    def create(self, material: KeyMaterial) -> None:
        """Write a new key file; an existing file is never replaced (``FileExistsError``)."""
        create_private_file(self.path, self._document(material))

    def _document(self, material: KeyMaterial) -> bytes:
        document: dict[str, Any] = {"format": FORMAT, "version": 1, "material": material.to_json()}
        if self.passphrase:
            document = self._protect(document)
        return json.dumps(document, indent=1).encode()

    @staticmethod
    def is_protected(path: Path) -> bool:
        try:
            return bool(json.loads(path.read_bytes()).get("protected"))
        except (FileNotFoundError, ValueError):
            return False

    def _derive(self, salt: bytes, kdf: dict[str, Any]) -> bytes:
        if not self.passphrase:
            raise KeyUnavailable(_("The key file needs its passphrase."))
        return hash_secret_raw(
            self.passphrase.encode(),
            salt,
            time_cost=kdf["time_cost"],
            memory_cost=kdf["memory_cost"],
            parallelism=kdf["parallelism"],
            hash_len=32,
            type=Type.ID,
        )

    def _protect(self, document: dict[str, Any]) -> dict[str, Any]:
        salt = secrets.token_bytes(16)
        sealed = api.encrypt(
            self._derive(salt, _KDF), json.dumps(document).encode(), FORMAT.encode()
        )
        return {
            "format": FORMAT,
            "version": 1,
            "protected": True,
            "kdf": {**_KDF, "salt": _b64(salt)},
            "sealed": _b64(sealed),
        }

    def _unprotect(self, envelope: dict[str, Any]) -> dict[str, Any]:
        kdf = envelope["kdf"]
        key = self._derive(_unb64(kdf["salt"]), kdf)
        try:
            opened: dict[str, Any] = json.loads(
                api.decrypt(key, _unb64(envelope["sealed"]), FORMAT.encode())
            )
            return opened
        except DecryptionFailed:
            raise KeyUnavailable(_("The passphrase does not open the key file.")) from None


_cached: tuple[int, KeyMaterial] | None = None
_passphrase: str | None = None  # kept after unlock() so a rotated key file can be read again


def key_file_path() -> Path:
    from django.conf import settings

    return Path(settings.MNVAULT_KEY_FILE)


def provider(*, interactive: bool = False) -> KeyFileProvider:
    """The configured provider. A protected file takes its passphrase from
    ``MNVAULT_KEY_PASSPHRASE`` or, when ``interactive``, from the terminal."""
    path = key_file_path()
    passphrase = os.environ.get("MNVAULT_KEY_PASSPHRASE") or _passphrase
    if not passphrase and interactive and sys.stdin.isatty() and KeyFileProvider.is_protected(path):
        passphrase = getpass.getpass(_("Key file passphrase: "))
    return KeyFileProvider(path, passphrase)


def _mtime() -> int:
    try:
        return key_file_path().stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def material() -> KeyMaterial:
    """The key material of this process, loaded again whenever the key file changes. Which KEK
    wraps new keys is not decided here but by the key store (``datakeys.active_kek``)."""
    global _cached
    mtime = _mtime()
    if _cached is None or _cached[0] != mtime:
        _cached = (mtime, provider().load())
    return _cached[1]


class SigningKeyFile:
    """The audit signing key in a file of its own (mode 0600): the Ed25519 seed, with the
    public key beside it so that an operator can tell which key a file holds."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> bytes:
        try:
            document = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise KeyUnavailable(
                _("No audit signing key at %(path)s: run `mnvault init` first.")
                % {"path": self.path}
            ) from None
        except ValueError:
            raise KeyUnavailable(_("The audit signing key file is corrupt.")) from None
        if not isinstance(document, dict) or document.get("format") != SIGNING_FORMAT:
            raise KeyUnavailable(_("This is not an mnvault audit signing key file."))
        try:
            seed = _unb64(document["seed"])
            Ed25519PrivateKey.from_private_bytes(seed)
        except (KeyError, ValueError, TypeError):
            raise KeyUnavailable(_("The audit signing key file is corrupt.")) from None
        return seed

    def save(self, seed: bytes) -> None:
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
        document = {
            "format": SIGNING_FORMAT,
            "version": 1,
            "seed": _b64(seed),
            "public_key": public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
            "created_at": datetime.now(UTC).isoformat(),
        }
        write_private_file(self.path, json.dumps(document, indent=1).encode())


def signing_key_file_path() -> Path | None:
    """``MNVAULT_SIGNING_KEY_FILE``, or None: the signing key is then in the key file."""
    from django.conf import settings

    configured = getattr(settings, "MNVAULT_SIGNING_KEY_FILE", None)
    return Path(configured) if configured else None


# The signing key and what it was read from (the key material, or the file and its mtime).
_signing: tuple[object, Ed25519PrivateKey] | None = None


def signing_key() -> Ed25519PrivateKey:
    """The audit signing key, from its own file when one is configured, else from the key
    file; the same object while its source is unchanged (the audit log derives its MAC key
    from it once, not at every append)."""
    global _signing
    path = signing_key_file_path()
    if path is None:
        current = material()
        if _signing is None or _signing[0] is not current:
            _signing = (current, current.signing_key())
        return _signing[1]
    try:
        stamp = (path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        stamp = (path, -1)
    if _signing is None or _signing[0] != stamp:
        _signing = (stamp, Ed25519PrivateKey.from_private_bytes(SigningKeyFile(path).load()))
    return _signing[1]


def unlock(*, interactive: bool) -> KeyMaterial:
    """Load the key material at start-up, asking for the passphrase if needed; the passphrase
    is kept in memory so that a rotated key file can be read again."""
    global _cached, _passphrase
    chosen = provider(interactive=interactive)
    _passphrase = chosen.passphrase
    _cached = (_mtime(), chosen.load())
    signing_key()  # a missing or unreadable signing key stops the command here, not mid-way
    return _cached[1]


def unlocked_passphrase() -> str | None:
    """The passphrase this process opened the key file with (from the environment or the
    terminal), for the environment of a child process that must open it too (the restore
    drill's steps): never for a command line, which other users can read."""
    return _passphrase


def forget() -> None:
    """Drop the cached material (after rotation, and between tests)."""
    global _cached, _signing
    _cached = _signing = None
