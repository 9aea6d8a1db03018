"""Appending to the audit log. Every action on a number, or on who may reach one, calls
``record`` inside the transaction of the action itself, so the entry and the action commit or
roll back together."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from mnvault.audit import signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import GENESIS_HASH, AuditEntry, AuditHead, Outcome
from mnvault.domain import numbers


def _check_json(value: Any) -> None:
    """Only text, integers, booleans and null: floats do not survive PostgreSQL's jsonb
    unchanged (1e16 comes back as an integer), which would break the hash of an honest entry."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)
    elif not (value is None or isinstance(value, str | int)):  # bool is an int
        raise TypeError(f"audit detail cannot hold {type(value).__name__} values")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(fields: dict[str, Any]) -> bytes:
    return _ENCODER.encode(fields).encode()


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


HASHED_FIELDS = (  # with created_at, which is hashed in its ISO form
    "seq",
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
)


def hashed_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the hash covers, from an entry's ``__dict__`` or a database row, in the form
    they take after a round trip to the database."""
    fields = {name: values[name] for name in HASHED_FIELDS}
    fields["created_at"] = values["created_at"].astimezone(UTC).isoformat(timespec="microseconds")
    return fields


def _locked_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    seq, digest = last or (0, GENESIS_HASH)
    try:
        with transaction.atomic():
            AuditHead.objects.create(pk=1, seq=seq, entry_hash=digest)
    except IntegrityError:
        pass  # another writer created it first; lock theirs
    return AuditHead.objects.select_for_update().get(pk=1)


_ACTIONS = frozenset(Action.values)


def _new_entry(
    *,
    actor: Actor,
    action: Action | str,
    outcome: str = Outcome.OK,
    company_id: int | None = None,
    person_id: int | None = None,
    purpose: str = "",
    reason: str = "",
    client_address: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry checked for what it may hold, not yet chained."""
    if action not in _ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to mnvault.audit.actions")
    entry = AuditEntry(
        created_at=datetime.now(UTC),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:150],
        company_id=company_id,
        person_id=person_id,
        action=Action(action).value,
        purpose=purpose,
        outcome=outcome,
        reason=reason[:200],
        client_address=client_address,
        detail=detail or {},
    )
    # Callers pass ids, never numbers; this is the last line of defence (domain R4). Digests
    # go in base64: a hex digest can hold a run that validates (about 1 in 350 SHA-256).
    _check_json(entry.detail)
    # The time is ours, not the caller's: left out, so that its digits do not send every
    # entry through the slow full check (a bench of 20,000 entries spent 40% there).
    checked = {k: v for k, v in hashed_fields(entry.__dict__).items() if k != "created_at"}
    if numbers.holds_number(canonical(checked).decode()):
        raise ValueError("audit entry refused: it looks like it holds an individual number")
    return entry


def _chain(entries: list[AuditEntry]) -> None:
    """Number, hash, authenticate and insert ``entries`` after the head, under its lock."""
    mac_key = signing.mac_key()  # before the lock: an unreadable key must not hold it
    head = _locked_head()
    seq, digest = head.seq, head.entry_hash
    for entry in entries:
        # Time and number are taken under the lock, so times never run backwards.
        entry.created_at = datetime.now(UTC)
        seq += 1
        entry.seq = seq
        entry.prev_hash = digest
        entry.entry_hash = digest = entry_hash(digest, hashed_fields(entry.__dict__))
        # Authenticated at commit: no entry is ever unsigned, not even after a checkpoint.
        entry.mac = signing.mac(mac_key, entry.seq, entry.entry_hash)
    if len(entries) == 1:
        entries[0].save(force_insert=True)
    else:
        AuditEntry.objects.bulk_create(entries, batch_size=500)
    head.seq, head.entry_hash = seq, digest
    head.save(update_fields=["seq", "entry_hash"])


def record_many(entries: list[dict[str, Any]]) -> int:
    """Append several entries at once, in order, each as ``record`` would (the same keyword
    arguments): one lock of the head for all of them. For acts on many people at once (a
    statutory document run), where one entry per person is the rule. Must run inside the
    caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record_many must run inside the action's transaction")
    built = [_new_entry(**fields) for fields in entries]
    if built:
        _chain(built)
    return len(built)


def record(
    *,
    actor: Actor,
    action: Action | str,
    outcome: str = Outcome.OK,
    company_id: int | None = None,
    person_id: int | None = None,
    purpose: str = "",
    reason: str = "",
    client_address: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Must run inside the caller's ``transaction.atomic`` block.
    ``action`` is an ``Action`` (or its value): the log holds nothing it cannot label."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the action's transaction")
    entry = _new_entry(
        actor=actor,
        action=action,
        outcome=outcome,
        company_id=company_id,
        person_id=person_id,
        purpose=purpose,
        reason=reason,
        client_address=client_address,
        detail=detail,
    )
    _chain([entry])
    return entry
