"""The signed restore marker: how the audit log stays verifiable after a restore from a backup
(issue 13, item 3; docs/threat-model.md, "Audit log").

A restore brings the chain back to the backup's last entry N. The checkpoint file, kept on
other storage, still holds checkpoints of the entries after N that were lost; without more,
``verify`` would report the chain rewritten, for good. So the restore writes two things, both
signed by the installation's key:

- an audit entry (``backup.restore``) whose detail names the restored head (N and its hash)
  and the range that was lost (after N, up to the last checkpoint the file held);
- a restore line in the checkpoint file (``checkpoints.RestoreMark``) naming the same head,
  that entry (its number and hash) and the line it follows.

``verify`` then treats a checkpoint written before a restore line, past its head, as
superseded — only when that line's signature holds, the chain's entry N has its head hash,
and its restore entry is in the chain with that hash and a detail naming the same head and
range. Everything else is checked as before: a checkpoint at or below N, any checkpoint after
the restore line, every database checkpoint. A second restore supersedes what came before it,
the first restore's line included when that restore's entry was lost too.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mnvault.audit import checkpoints, log, signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import Checkpoint, CheckpointFile, RestoreMark
from mnvault.audit.models import GENESIS_HASH, AuditEntry


def b64(hex_text: str) -> str:
    """A hash as the audit detail holds it (a hex digest can hold a run of digits that
    validates as an individual number, and would be refused)."""
    return base64.b64encode(bytes.fromhex(hex_text)).decode("ascii")


def _head_hash(seq: int) -> str | None:
    if seq == 0:
        return GENESIS_HASH
    return AuditEntry.objects.filter(seq=seq).values_list("entry_hash", flat=True).first()


def restore_detail(mark_head: int, head_hash: str, lost_to: int) -> dict[str, Any]:
    return {
        "head": mark_head,
        "head_hash": b64(head_hash),
        "lost_after": mark_head,
        "lost_to": lost_to,
    }


def record_restore(
    *, head: int, actor: Actor, detail: dict[str, Any] | None = None
) -> tuple[AuditEntry, RestoreMark]:
    """The restore's audit entry, then its restore line in the checkpoint file, then a
    checkpoint of the new head (after the line, so it is checked as any other). ``head`` is
    the backup's last entry; ``detail`` adds to the entry's detail (the backup's time)."""
    head_hash = _head_hash(head)
    if head_hash is None:
        raise ValueError(f"the restored log has no entry #{head}")
    found = checkpoints.read_file()
    lost_to = max([head, *(cp.seq for cp in found.checkpoints)])
    with transaction.atomic():
        entry = log.record(
            actor=actor,
            action=Action.BACKUP_RESTORE,
            detail={**(detail or {}), **restore_detail(head, head_hash, lost_to)},
        )
    mark = _append_mark(entry, head=head, head_hash=head_hash, lost_to=lost_to)
    checkpoints.write_checkpoint()
    return entry, mark


def _append_mark(entry: AuditEntry, *, head: int, head_hash: str, lost_to: int) -> RestoreMark:
    return checkpoints.append_restore_mark(
        lambda follows: checkpoints.signed_mark(
            head_seq=head,
            head_hash=head_hash,
            lost_to=lost_to,
            restore_entry_seq=entry.seq,
            restore_entry_hash=entry.entry_hash,
            follows=follows,
        )
    )


# --- a restore cut short between its entry and its line --------------------------------------


@dataclass(frozen=True)
class Pending:
    """The newest restore entry, whose restore line the checkpoint file lacks, and the line's
    values as its own signed detail names them."""

    entry: AuditEntry
    head: int
    head_hash: str  # hex
    lost_to: int


def pending(found: CheckpointFile | None = None) -> Pending | None:
    """The newest ``backup.restore`` entry when the checkpoint file has no restore line naming
    it (its number and hash): a restore that stopped after committing its entry. Older restore
    entries are left alone: a later restore supersedes them. None as well when the entry does
    not hold on its own (its hash, its link to the entry before, its MAC, the head its detail
    names): a line is written only for an entry the installation itself signed."""
    entry = AuditEntry.objects.filter(action=Action.BACKUP_RESTORE).order_by("-seq").first()
    if entry is None:
        return None
    found = found or checkpoints.read_file()
    if any(
        (mark.restore_entry_seq, mark.restore_entry_hash) == (entry.seq, entry.entry_hash)
        for _where, mark in found.marks
    ):
        return None
    return _as_pending(entry) if _entry_holds(entry) else None


def _entry_holds(entry: AuditEntry) -> bool:
    previous = _head_hash(entry.seq - 1)
    digest = log.entry_hash(entry.prev_hash, log.hashed_fields(entry.__dict__))
    mac = signing.mac(signing.mac_key(), entry.seq, entry.entry_hash)
    return (
        previous == entry.prev_hash
        and digest == entry.entry_hash
        and hmac.compare_digest(mac, entry.mac or "")
    )


def _as_pending(entry: AuditEntry) -> Pending | None:
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    head, lost_to, named = detail.get("head"), detail.get("lost_to"), detail.get("head_hash")
    if type(head) is not int or type(lost_to) is not int or not isinstance(named, str):
        return None
    try:
        head_hash = base64.b64decode(named, validate=True).hex()
    except (ValueError, binascii.Error):
        return None
    if not 0 <= head < entry.seq or lost_to < head or _head_hash(head) != head_hash:
        return None
    wanted = restore_detail(head, head_hash, lost_to)
    if wanted != {key: detail.get(key) for key in wanted}:
        return None
    return Pending(entry, head, head_hash, lost_to)


def finish_pending() -> RestoreMark | None:
    """Finish a restore that stopped between its audit entry and its restore line (a crash, a
    full disk): the line, from the entry's own signed detail, then a checkpoint and the line's
    copy in the witness file, as ``mnvault restore`` would have written them. Until then
    ``audit verify`` fails, and ``restore`` cannot be run again (the data directory is not
    empty). Idempotent: None when there is nothing to finish. ``mnvault serve`` runs it before
    its first checkpoint, which would otherwise land before the line."""
    from mnvault.audit import witness  # witness reads restore lines: it imports this module

    found = pending()
    if found is None:
        return None
    mark = _append_mark(
        found.entry, head=found.head, head_hash=found.head_hash, lost_to=found.lost_to
    )
    checkpoints.write_checkpoint()
    witness.witness_restore(mark)
    return mark


# --- what verify makes of restore lines ------------------------------------------------------


@dataclass(frozen=True)
class Superseded:
    """The checkpoints of the file that restore lines superseded (by their place in
    ``CheckpointFile.all_lines``), and the restore lines that must then hold."""

    lines: frozenset[int]
    marks: tuple[tuple[str, RestoreMark], ...]


def superseded(found: CheckpointFile) -> Superseded:
    """Every line before a restore line that speaks of an entry past its head: a checkpoint
    past it, or an earlier restore line whose own entry is past it."""
    lines = found.all_lines
    gone: set[int] = set()
    for index, (_where, line) in enumerate(lines):
        if not isinstance(line, RestoreMark):
            continue
        for before in range(index):
            reach = _reach(lines[before][1])
            if reach is not None and reach > line.head_seq:
                gone.add(before)
    marks = tuple(
        (where, line)
        for index, (where, line) in enumerate(lines)
        if isinstance(line, RestoreMark) and index not in gone
    )
    return Superseded(frozenset(gone), marks)


def _reach(line: Checkpoint | RestoreMark | None) -> int | None:
    if isinstance(line, Checkpoint):
        return None if line.is_genesis else line.seq
    if isinstance(line, RestoreMark):
        return line.restore_entry_seq
    return None


def mark_problem(found: CheckpointFile, gone: Superseded) -> str | None:
    """Why a restore line that supersedes checkpoints does not hold, once the chain itself has
    been verified; None when every one holds. Superseded restore lines are left out: their
    entries were lost with the rest."""
    lines = found.all_lines
    for index, (where, line) in enumerate(lines):
        if not isinstance(line, RestoreMark) or index in gone.lines:
            continue
        problem = _one_mark_problem(line, lines[index - 1][1] if index else None)
        if problem is None:
            problem = _beyond_lost(lines[:index], line, gone.lines)
        if problem is not None:
            return f"{where}: {problem}"
    return None


def _one_mark_problem(mark: RestoreMark, previous: Checkpoint | RestoreMark | None) -> str | None:
    if previous is None or previous.signature != mark.follows:
        return _("the restore line was moved: it does not follow the line it was written after")
    if _head_hash(mark.head_seq) != mark.head_hash:
        return _(
            "the chain's entry #%(seq)d is not the head the restore line names: the restored "
            "log was altered or cut"
        ) % {"seq": mark.head_seq}
    entry = AuditEntry.objects.filter(seq=mark.restore_entry_seq).first()
    if entry is None or entry.entry_hash != mark.restore_entry_hash:
        return _(
            "the restore's audit entry #%(seq)d is missing or differs from the restore line"
        ) % {"seq": mark.restore_entry_seq}
    wanted = restore_detail(mark.head_seq, mark.head_hash, mark.lost_to)
    named = {key: entry.detail.get(key) for key in wanted}
    if entry.action != Action.BACKUP_RESTORE or named != wanted or entry.seq <= mark.head_seq:
        return _(
            "the restore's audit entry #%(seq)d does not name the head and lost range of the "
            "restore line"
        ) % {"seq": mark.restore_entry_seq}
    return None


def _beyond_lost(
    before: list[tuple[str, Checkpoint | RestoreMark | None]],
    mark: RestoreMark,
    gone: frozenset[int],
) -> str | None:
    """A superseded checkpoint must be within the range the restore said was lost."""
    for index, (where, line) in enumerate(before):
        reach = _reach(line)
        if index in gone and reach is not None and mark.head_seq < reach and reach > mark.lost_to:
            return _("%(where)s lies beyond the range the restore line says was lost") % {
                "where": where
            }
    return None


def supersedes(marks: tuple[tuple[str, RestoreMark], ...], seq: int, created_at: str) -> bool:
    """Whether a witnessed checkpoint (which has no place in the file, only its signed time)
    is of entries a restore lost: signed before a holding restore line, past its head."""
    try:
        at = datetime.fromisoformat(created_at)
    except ValueError:
        return False
    return any(
        seq > mark.head_seq and at < datetime.fromisoformat(mark.created_at)
        for _where, mark in marks
    )
