"""Where the audit log's signing key comes from, and the seal of each entry.

The Ed25519 key that signs checkpoints is kept outside the database: in the key file by
default, or in a file of its own (``MNVAULT_SIGNING_KEY_FILE``, docs/threat-model.md). Reading
keys is the vault's work, and the vault sits above the audit log, so the vault registers the
source when the app registry is ready (``VaultConfig.ready``) and the audit log never imports
upward. A later key provider (an HSM) plugs in here.

Each entry is also sealed as it is appended: an HMAC-SHA256 of its sequence number and hash
under a key derived from the signing key (HKDF, its own label). A MAC, not an Ed25519
signature per entry: verifying a million signatures would take about 80 s on one core, a
million MACs about 1.5 s (docs/threat-model.md, "Why a MAC per entry"). Whoever can verify the
seals holds the key that makes them, which is the installation itself; the signed checkpoints
remain what a third party checks with the public key alone.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_LABEL = b"mnvault-audit-seal:v1"

_source: Callable[[], Ed25519PrivateKey] | None = None
_seal_keys: tuple[Ed25519PrivateKey, bytes] | None = None  # the last key and its seal key


def use_signing_key(source: Callable[[], Ed25519PrivateKey]) -> None:
    global _source, _seal_keys
    _source, _seal_keys = source, None


def signing_key() -> Ed25519PrivateKey:
    if _source is None:
        raise RuntimeError("no audit signing key source: is the mnvault.vault app installed?")
    return _source()


def seal_key_of(key: Ed25519PrivateKey) -> bytes:
    """The MAC key of the seals, derived from the signing key's seed (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_LABEL).derive(
        key.private_bytes_raw()
    )


def seal_key() -> bytes:
    """The seal key of the current signing key; derived again only when the key changes (the
    source hands back the same object while its file is unchanged)."""
    global _seal_keys
    key = signing_key()
    if _seal_keys is None or _seal_keys[0] is not key:
        _seal_keys = (key, seal_key_of(key))
    return _seal_keys[1]


def seal(key: bytes, seq: int, entry_hash: str) -> str:
    """The seal of entry ``seq`` with hash ``entry_hash``: since the hash covers every entry
    before it, so does the seal."""
    message = SEAL_LABEL + b"|" + str(seq).encode("ascii") + b"|" + entry_hash.encode("ascii")
    return hmac.digest(key, message, "sha256").hex()


def seal_holds(key: bytes, seq: int, entry_hash: str, stored: str) -> bool:
    return hmac.compare_digest(seal(key, seq, entry_hash).encode(), stored.encode())
