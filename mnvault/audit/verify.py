"""Verification of the whole audit log: the chain, the MAC of every entry, its head, the signed
checkpoints in the database and in the checkpoint file, and the data the log speaks of.

It stops at the first entry that does not hold and names it, which is what an auditor needs to
start looking (``mnvault audit verify`` exits 1 with that message). It fails closed: a missing,
emptied or shortened checkpoint file, or data that no entry accounts for (``audit.facts``), is
a failure, not "nothing to check" (docs/threat-model.md). Messages are in the active language.
"""

from __future__ import annotations

import hmac
import itertools
import json
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, connections
from django.db.models import Field
from django.utils.translation import gettext as _

from mnvault.audit import checkpoints, facts, restores, signing
from mnvault.audit.checkpoints import RestoreMark
from mnvault.audit.log import HASHED_FIELDS, entry_hash, hashed_fields
from mnvault.audit.models import GENESIS_HASH, AuditEntry, AuditHead

if TYPE_CHECKING:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

_COLUMNS = ["created_at", *HASHED_FIELDS, "prev_hash", "entry_hash", "mac"]
# The signed checkpoints' hashes by sequence number, each with where it was found.
Wanted = dict[int, list[tuple[str, str]]]


@dataclass(frozen=True)
class _Rules:
    """What each entry is checked against besides its own hash: the signed checkpoints, and
    the MAC key. ``covered`` is the last entry a signed checkpoint covers: only up to there
    may an entry lack a MAC (written before entries had one; the checkpoint binds it)."""

    wanted: Wanted
    mac_key: bytes = field(repr=False)
    covered: int = 0


PARALLEL_FROM = 100_000  # entries from which verification uses one process per core


@dataclass(frozen=True)
class VerifyResult:
    """``checkpoints`` counts the signed checkpoints of entries that hold (the genesis line of
    the file is not counted); ``warnings`` tell of what is not tampering but needs a look (a
    checkpoint line cut short by a crash)."""

    ok: bool
    entries: int
    checkpoints: int
    message: str
    first_bad_seq: int | None = None
    warnings: tuple[str, ...] = ()
    # The restore lines that held (``audit.restores``): a witness of a lost chain is judged by
    # them (``witness.check_chain``).
    restores: tuple[tuple[str, RestoreMark], ...] = ()


def _fail(entries: int, seq: int | None, message: str) -> VerifyResult:
    return VerifyResult(False, entries, 0, message, seq)


def _entries(lo: int, hi: int | None) -> Iterator[dict[str, Any]]:
    """Entries ``lo``..``hi`` (to the end when None) in order, as plain values. Raw SQL: the
    ORM's per-value conversions were half the time of verifying a million (bench/README.md)."""
    quote = connection.ops.quote_name
    columns = [quote(_column(c)) for c in _COLUMNS]
    if connection.vendor == "sqlite":
        # As text, the column skips Django's per-row datetime converter (a Python regex);
        # datetime.fromisoformat below does the same work in C.
        at = _COLUMNS.index("created_at")
        columns[at] = f"CAST({columns[at]} AS TEXT)"
    seq = quote("seq")
    # Only quoted identifiers are formatted in; the bounds are parameters.
    sql = f"SELECT {', '.join(columns)} FROM {quote(AuditEntry._meta.db_table)} WHERE {seq} >= %s"  # noqa: S608
    params = [lo]
    if hi is not None:
        sql, params = f"{sql} AND {seq} <= %s", [lo, hi]
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY {seq}", params)
        while rows := cursor.fetchmany(5000):
            for row in rows:
                entry = dict(zip(_COLUMNS, row, strict=True))
                entry["created_at"] = _as_datetime(entry["created_at"])
                if isinstance(entry["detail"], str):
                    entry["detail"] = json.loads(entry["detail"])
                yield entry


def _column(name: str) -> str:
    field = AuditEntry._meta.get_field(name)
    if not isinstance(field, Field):  # a reverse relation: no column in this table
        raise TypeError(f"AuditEntry.{name} is not a column")
    return field.column


def _as_datetime(value: datetime | str) -> datetime:
    """SQLite gives back naive UTC (text, or a datetime through Django's converter),
    PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Span:
    """What one stretch of the chain showed: the ``prev_hash`` its first entry claims (its
    link to the stretch before, checked by the caller), its last verified hash, and the first
    failure inside it."""

    lo: int
    last_seq: int
    first_prev: str | None = None
    last_hash: str = ""
    bad_seq: int | None = None
    message: str = ""


def _check_span(lo: int, hi: int | None, rules: _Rules) -> _Span:
    wanted, mac_key, covered = rules.wanted, rules.mac_key, rules.covered
    label, hmac_of = signing.MAC_LABEL + b"|%d|%s", hmac.digest  # signing.mac, inlined: hot
    expected, prev, first_prev = lo, None, None
    for entry in _entries(lo, hi):
        seq = entry["seq"]
        if seq != expected:
            return _Span(
                lo,
                expected - 1,
                first_prev,
                prev or "",
                expected,
                _missing(expected),
            )
        if prev is None:
            prev = first_prev = entry["prev_hash"]
        elif entry["prev_hash"] != prev:
            return _Span(lo, seq - 1, first_prev, prev, seq, _not_following(seq))
        if entry_hash(prev, hashed_fields(entry)) != entry["entry_hash"]:
            return _Span(lo, seq - 1, first_prev, prev, seq, _altered(seq))
        mac = entry["mac"]
        if (mac or seq > covered) and mac != hmac_of(
            mac_key, label % (seq, entry["entry_hash"].encode()), "sha256"
        ).hex():
            return _Span(lo, seq - 1, first_prev, prev, seq, _bad_mac(seq, mac))
        for where, digest in wanted.get(seq, ()):
            if digest != entry["entry_hash"]:
                return _Span(
                    lo,
                    seq,
                    first_prev,
                    prev,
                    seq,
                    _(
                        "entry #%(seq)d differs from %(where)s: the chain was rewritten at or "
                        "before #%(seq)d"
                    )
                    % {"seq": seq, "where": where},
                )
        prev, expected = entry["entry_hash"], seq + 1
    return _Span(lo, expected - 1, first_prev, prev or "")


def _missing(seq: int) -> str:
    return _("entry #%(seq)d is missing (deleted)") % {"seq": seq}


def _altered(seq: int) -> str:
    return _("entry #%(seq)d was altered after it was written") % {"seq": seq}


def _not_following(seq: int) -> str:
    return _("entry #%(seq)d does not follow #%(prev)d (entries reordered or inserted)") % {
        "seq": seq,
        "prev": seq - 1,
    }


def _bad_mac(seq: int, stored: str) -> str:
    if not stored:
        return _(
            "entry #%(seq)d has no MAC and no signed checkpoint covers it "
            "(written or re-hashed without the signing key)"
        ) % {"seq": seq}
    return _(
        "entry #%(seq)d has a MAC that does not hold (written or re-hashed without the signing key)"
    ) % {"seq": seq}


def _check_span_in_child(lo: int, hi: int | None, rules: _Rules) -> _Span:
    try:
        return _check_span(lo, hi, rules)
    finally:
        connection.close()


def _spans(workers: int, rules: _Rules) -> list[_Span]:
    """The chain checked in ``workers`` stretches, in parallel processes where the database
    can be shared with them (the hashing is CPU-bound: one process per core)."""
    if workers <= 1:
        return [_check_span(1, None, rules)]
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    size = max(last // workers, 1)
    bounds: list[tuple[int, int | None]] = [
        (1 + i * size, (i + 1) * size) for i in range(workers - 1)
    ]
    bounds.append((1 + (workers - 1) * size, None))  # the last one runs to the end
    jobs = [(lo, hi, rules) for lo, hi in bounds]
    if not _can_fork():
        return list(itertools.starmap(_check_span, jobs))
    connections.close_all()  # children open their own
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.starmap(_check_span_in_child, jobs)


def _can_fork() -> bool:
    """Children see only committed data in a database of their own: not inside a transaction
    (tests), not an in-memory SQLite, not where fork does not exist."""
    in_memory = (
        connection.vendor == "sqlite" and cast("SQLiteWrapper", connection).is_in_memory_db()
    )
    return os.name == "posix" and not connection.in_atomic_block and not in_memory


def _stitched(spans: list[_Span]) -> _Span:
    """The spans joined in order: each must start where the previous one ended, and only the
    last may be empty; the first failure in chain order wins."""
    prev, whole = GENESIS_HASH, _Span(1, 0)
    for index, span in enumerate(spans):
        if span.first_prev is not None and span.first_prev != prev:
            return _Span(1, span.lo - 1, bad_seq=span.lo, message=_not_following(span.lo))
        if span.bad_seq is not None:
            return _Span(1, span.last_seq, bad_seq=span.bad_seq, message=span.message)
        if span.last_seq < span.lo:  # empty
            if any(later.last_seq >= later.lo for later in spans[index + 1 :]):
                return _Span(1, span.lo - 1, bad_seq=span.lo, message=_missing(span.lo))
            break
        prev, whole = span.last_hash, _Span(1, span.last_seq, last_hash=span.last_hash)
    return whole


def default_workers(entries: int) -> int:
    """One process per core for a long chain; a short one is faster in one."""
    return min(os.cpu_count() or 1, 4) if entries >= PARALLEL_FROM else 1


def verify(*, checkpoint_path: Path | None = None, workers: int | None = None) -> VerifyResult:
    found = checkpoints.read_file(checkpoint_path)
    result = _verify(found, workers)
    if not result.ok and restores.pending(found) is not None:
        note = _(
            "(a restore from a backup stopped after its audit entry, before its restore line "
            "was written: `mnvault serve` finishes it when it next starts)"
        )
        result = replace(result, message=f"{result.message} {note}")
    return result


def _verify(found: checkpoints.CheckpointFile, workers: int | None) -> VerifyResult:
    in_database = checkpoints.database_checkpoints()
    key = checkpoints.public_key()
    key_hex = checkpoints.public_key_hex(key)
    wanted: Wanted = {}
    for where, cp in [*in_database, *found.all_lines]:
        if cp is None or cp.public_key != key_hex or not cp.signature_holds(key):
            text = _("%(where)s: the signature does not hold (forged or damaged)")
            return _fail(0, None, text % {"where": where})
    gone = restores.superseded(found)
    in_file = [
        (where, cp)
        for index, (where, cp) in enumerate(found.all_lines)
        if isinstance(cp, checkpoints.Checkpoint) and index not in gone.lines
    ]
    for where, cp in [*in_database, *in_file]:
        wanted.setdefault(cp.seq, []).append((where, cp.entry_hash))

    if workers is None:
        workers = default_workers(AuditEntry.objects.count())
    rules = _Rules(wanted, signing.mac_key(), max(wanted, default=0))
    chain = _stitched(_spans(workers, rules))
    if chain.bad_seq is not None:
        return _fail(chain.last_seq, chain.bad_seq, chain.message)
    count, prev = chain.last_seq, chain.last_hash or GENESIS_HASH
    beyond = [seq for seq in wanted if seq > count]
    if beyond:
        missing = min(beyond)
        return _fail(
            count,
            count + 1,
            _("entries #%(first)d to #%(last)d are missing: %(where)s covers %(count)d entries")
            % {
                "first": count + 1,
                "last": missing,
                "where": wanted[missing][0][0],
                "count": missing,
            },
        )
    head = AuditHead.objects.filter(pk=1).values_list("seq", "entry_hash").first()
    if head is None and count:
        return _fail(count, count + 1, _("the chain head is missing (deleted)"))
    if head is not None and head != (count, prev):
        return _fail(
            count,
            count + 1,
            _(
                "the chain ends at #%(count)d but its head records #%(head)d: "
                "entries were removed from the end"
            )
            % {"count": count, "head": head[0]},
        )
    signed = [cp for _where, cp in [*in_database, *in_file]]
    problem = restores.mark_problem(found, gone)
    if problem is None:
        problem = _file_problem(found, [cp for _where, cp in in_database], count)
    if problem is None:
        problem = facts.first_unaccounted()
    if problem is not None:
        return _fail(count, None, problem)
    held = sum(1 for cp in signed if not cp.is_genesis)
    warnings = (_torn(found.path),) if found.torn else ()
    message = _(
        "OK: %(entries)d entries, chain intact, %(checkpoints)d signed checkpoints hold"
    ) % {
        "entries": count,
        "checkpoints": held,
    }
    if gone.lines:
        message += " " + _restored(gone)
    return VerifyResult(True, count, held, message, warnings=warnings, restores=gone.marks)


def _restored(gone: restores.Superseded) -> str:
    last = gone.marks[-1][1]
    return _(
        "(restored from a backup at entry #%(head)d by signed restore entry #%(entry)d; "
        "%(count)d lines of the checkpoint file are of the lost entries)"
    ) % {"head": last.head_seq, "entry": last.restore_entry_seq, "count": len(gone.lines)}


def _file_problem(
    found: checkpoints.CheckpointFile, in_database: list[checkpoints.Checkpoint], entries: int
) -> str | None:
    """The checkpoint file must be there, hold its genesis line, and hold every checkpoint the
    database says was appended to it (an honest append writes the file before the row). Only
    an installation that has logged nothing may have no file yet. Rows of other files (another
    app server's) are checked against the chain, not against this file."""
    in_file = found.checkpoints
    if not in_file:
        if entries == 0 and not in_database:
            return None
        if not found.exists:
            return _(
                "the checkpoint file %(path)s is missing: nothing outside the database vouches "
                "for the log"
            ) % {"path": found.path}
        return _("the checkpoint file %(path)s holds no checkpoint (emptied)") % {
            "path": found.path
        }
    genesis = found.genesis
    if genesis is None:
        return _(
            "the checkpoint file %(path)s has no genesis line: its first lines were removed"
        ) % {"path": found.path}
    held = {(cp.seq, cp.entry_hash, cp.signature) for cp in in_file}
    lost = [
        cp.seq
        for cp in checkpoints.written_to(genesis.file_id)
        if (cp.seq, cp.entry_hash, cp.signature) not in held
    ]
    if lost:
        return _(
            "the checkpoint file %(path)s lacks the checkpoint at entry #%(seq)d that the "
            "database says was written to it: lines were removed from the file"
        ) % {"path": found.path, "seq": max(lost)}
    return None


def _torn(path: Path) -> str:
    return _(
        "the last line of %(path)s was cut short by an interrupted write (not a sign of "
        "tampering); the next checkpoint removes it"
    ) % {"path": path}
