"""Signed checkpoints of the chain head (Ed25519, key kept beside the KEK, never in the
database). Each is stored in the database and appended to a file outside it, so rewriting the
whole table, or cutting its tail, is caught by ``verify`` (docs/architecture.md, "Audit log")."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from mnvault.audit import signing
from mnvault.audit.models import AuditCheckpoint, AuditEntry


@dataclass(frozen=True)
class Checkpoint:
    """``seq`` is also the entry count: sequence numbers run from 1 without gaps."""

    seq: int
    entry_hash: str
    created_at: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return (
            f"mnvault-audit-checkpoint:v1|count={self.seq}|head={self.entry_hash}"
            f"|at={self.created_at}"
        ).encode()

    def signature_holds(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True


def public_key() -> Ed25519PublicKey:
    return signing.signing_key().public_key()


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def checkpoint_file() -> Path:
    return Path(settings.MNVAULT_CHECKPOINT_FILE)


def write_checkpoint(*, path: Path | None = None) -> Checkpoint | None:
    """Sign the current head; None when the log is empty or the head is already signed."""
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    if last is None:
        return None
    if AuditCheckpoint.objects.filter(seq=last[0], entry_hash=last[1]).exists():
        return None
    signing_key = signing.signing_key()
    unsigned = Checkpoint(
        seq=last[0],
        entry_hash=last[1],
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        public_key=public_key_hex(signing_key.public_key()),
        signature="",
    )
    checkpoint = Checkpoint(
        **{**asdict(unsigned), "signature": signing_key.sign(unsigned.message()).hex()}
    )
    _append_to_file(path or checkpoint_file(), checkpoint)
    AuditCheckpoint.objects.create(
        **{**asdict(checkpoint), "created_at": datetime.fromisoformat(checkpoint.created_at)}
    )
    return checkpoint


def _append_to_file(path: Path, checkpoint: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(checkpoint), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def stored_checkpoints(path: Path | None = None) -> list[tuple[str, Checkpoint | None]]:
    """Every checkpoint from the database and the file, each with where it came from; a line of
    the file that cannot be read comes as None so that ``verify`` reports it."""
    found: list[tuple[str, Checkpoint | None]] = [
        (
            f"database checkpoint {row.pk}",
            Checkpoint(
                seq=row.seq,
                entry_hash=row.entry_hash,
                created_at=row.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                public_key=row.public_key,
                signature=row.signature,
            ),
        )
        for row in AuditCheckpoint.objects.order_by("seq", "pk")
    ]
    path = path or checkpoint_file()
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                where = f"{path.name} line {number}"
                try:
                    found.append((where, Checkpoint(**json.loads(line))))
                except (ValueError, TypeError):
                    found.append((where, None))
    return found
