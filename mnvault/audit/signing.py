"""Where the audit log's signing key comes from, and the MAC of each entry.

The Ed25519 key that signs checkpoints is kept outside the database: in the key file by
default, or in a file of its own (``MNVAULT_SIGNING_KEY_FILE``, docs/threat-model.md). Reading
keys is the vault's work, and the vault sits above the audit log, so the vault registers the
source when the app registry is ready (``VaultConfig.ready``) and the audit log never imports
upward. A later key provider (an HSM) plugs in here.

Each entry also gets a MAC as it is appended: an HMAC-SHA256 of its sequence number and hash
under a key derived from the signing key (HKDF, its own label). A MAC, not an Ed25519
signature per entry: verifying a million signatures would take about 80 s on one core, a
million MACs about 1.5 s (docs/threat-model.md, "Why a MAC per entry"). Whoever can verify the
MACs holds the key that makes them, which is the installation itself; the signed checkpoints
remain what a third party checks with the public key alone.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAC_LABEL = b"mnvault-audit-mac:v1"

_source: Callable[[], Ed25519PrivateKey] | None = None
_mac_keys: tuple[Ed25519PrivateKey, bytes] | None = None  # the last key and its MAC key


def use_signing_key(source: Callable[[], Ed25519PrivateKey]) -> None:
    global _source, _mac_keys
    _source, _mac_keys = source, None


def signing_key() -> Ed25519PrivateKey:
    if _source is None:
        raise RuntimeError("no audit signing key source: is the mnvault.vault app installed?")
    return _source()


def mac_key_of(key: Ed25519PrivateKey) -> bytes:
    """The key of the entries' MACs, derived from the signing key's seed (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_LABEL).derive(
        key.private_bytes_raw()
    )


def mac_key() -> bytes:
    """The MAC key of the current signing key; derived again only when the key changes (the
    source hands back the same object while its file is unchanged)."""
    global _mac_keys
    key = signing_key()
    if _mac_keys is None or _mac_keys[0] is not key:
        _mac_keys = (key, mac_key_of(key))
    return _mac_keys[1]


def mac(key: bytes, seq: int, entry_hash: str) -> str:
    """The MAC of entry ``seq`` with hash ``entry_hash``: since the hash covers every entry
    before it, so does the MAC."""
    message = MAC_LABEL + b"|" + str(seq).encode("ascii") + b"|" + entry_hash.encode("ascii")
    return hmac.digest(key, message, "sha256").hex()
