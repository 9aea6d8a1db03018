"""Verification of the whole audit log: the chain, its head and the signed checkpoints.

It stops at the first entry that does not hold and names it, which is what an auditor needs to
start looking (``mnvault audit verify`` exits 1 with that message)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection

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


def _fail(entries: int, seq: int | None, message: str) -> VerifyResult:
    return VerifyResult(False, entries, 0, message, seq)


def _entries() -> Iterator[dict[str, Any]]:
    """Every entry in order, as plain values. Raw SQL: the ORM's per-value conversions were
    half the time of verifying a million entries (bench/README.md)."""
    quote = connection.ops.quote_name
    columns = [quote(AuditEntry._meta.get_field(c).column) for c in _COLUMNS]
    if connection.vendor == "sqlite":
        # As text, the column skips Django's per-row datetime converter (a Python regex);
        # datetime.fromisoformat below does the same work in C.
        at = _COLUMNS.index("created_at")
        columns[at] = f"CAST({columns[at]} AS TEXT)"
    columns = ", ".join(columns)
    table = quote(AuditEntry._meta.db_table)
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {quote('seq')}")  # noqa: S608
        while rows := cursor.fetchmany(5000):
            for row in rows:
                entry = dict(zip(_COLUMNS, row, strict=True))
                entry["created_at"] = _as_datetime(entry["created_at"])
                entry["detail"] = (
                    json.loads(entry["detail"])
                    if isinstance(entry["detail"], str)
                    else entry["detail"]
                )
                yield entry


def _as_datetime(value: datetime | str) -> datetime:
    """SQLite gives back naive UTC (text, or a datetime through Django's converter),
    PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    for entry in _entries():
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
    if head is None and count:
        return _fail(count, count + 1, "the chain head is missing (deleted)")
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
