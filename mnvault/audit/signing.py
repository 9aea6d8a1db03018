"""Where the audit log's signing key comes from.

The Ed25519 key that signs checkpoints is kept with the installation's other keys, outside the
database (docs/architecture.md, "Audit log"). Reading those keys is the vault's work, and the
vault sits above the audit log, so the vault registers the source when the app registry is
ready (``VaultConfig.ready``) and the audit log never imports upward. A later key provider
(a signing key in a file of its own, an HSM) plugs in here.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_source: Callable[[], Ed25519PrivateKey] | None = None


def use_signing_key(source: Callable[[], Ed25519PrivateKey]) -> None:
    global _source
    _source = source


def signing_key() -> Ed25519PrivateKey:
    if _source is None:
        raise RuntimeError("no audit signing key source: is the mnvault.vault app installed?")
    return _source()
