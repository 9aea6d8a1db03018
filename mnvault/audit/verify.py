"""Verification of the whole audit log: the chain, its head and the signed checkpoints.

It stops at the first entry that does not hold and names it, which is what an auditor needs to
start looking (``mnvault audit verify`` exits 1 with that message)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnvault.audit import checkpoints
from mnvault.audit.log import entry_hash, hashed_fields
from mnvault.audit.models import GENESIS_HASH, AuditEntry, AuditHead

_COLUMNS = [
    "seq",
    "created_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "company_id",
    "person_id",
    "action",
    "purpose",
    "outcome",
    "reason",
    "client_address",
    "detail",
    "prev_hash",
    "entry_hash",
]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    message: str
    first_bad_seq: int | None = None


def _fail(entries: int, seq: int | None, message: str, checkpoints_seen: int = 0) -> VerifyResult:
    return VerifyResult(False, entries, checkpoints_seen, message, seq)


def verify(*, checkpoint_path: Path | None = None) -> VerifyResult:
    signed = checkpoints.stored_checkpoints(checkpoint_path)
    key = checkpoints.public_key()
    key_hex = checkpoints.public_key_hex(key)
    wanted: dict[int, list[tuple[str, str]]] = {}
    for where, cp in signed:
        if cp is None or cp.public_key != key_hex or not cp.signature_holds(key):
            return _fail(0, None, f"{where}: the signature does not hold (forged or damaged)")
        wanted.setdefault(cp.seq, []).append((where, cp.entry_hash))

    expected_seq, prev = 1, GENESIS_HASH
    rows = AuditEntry.objects.order_by("seq").values_list(*_COLUMNS).iterator(chunk_size=5000)
    for row in rows:
        entry = dict(zip(_COLUMNS, row, strict=True))
        seq = entry["seq"]
        if seq != expected_seq:
            return _fail(seq - 1, expected_seq, f"entry #{expected_seq} is missing (deleted)")
        if entry["prev_hash"] != prev:
            return _fail(
                seq - 1,
                seq,
                f"entry #{seq} does not follow #{seq - 1} (entries reordered or inserted)",
            )
        if entry_hash(prev, hashed_fields(entry)) != entry["entry_hash"]:
            return _fail(seq - 1, seq, f"entry #{seq} was altered after it was written")
        for where, digest in wanted.pop(seq, []):
            if digest != entry["entry_hash"]:
                return _fail(
                    seq,
                    seq,
                    f"entry #{seq} differs from {where}: the chain was "
                    f"rewritten at or before #{seq}",
                )
        prev, expected_seq = entry["entry_hash"], seq + 1
    count = expected_seq - 1

    if wanted:
        missing = min(wanted)
        return _fail(
            count,
            count + 1,
            f"entries #{count + 1} to #{missing} are missing: "
            f"{wanted[missing][0][0]} covers {missing} entries",
        )
    head = AuditHead.objects.filter(pk=1).values_list("seq", "entry_hash").first()
    if head is not None and head != (count, prev):
        return _fail(
            count,
            count + 1,
            f"the chain ends at #{count} but its head records "
            f"#{head[0]}: entries were removed from the end",
        )
    return VerifyResult(
        True,
        count,
        len(signed),
        f"OK: {count} entries, chain intact, {len(signed)} signed checkpoints hold",
    )
