"""The whole audit log in one file an auditor can verify on another machine, without the
database: ``mnvault audit export --to FILE``, then ``mnvault audit verify --export FILE
--public-key KEY`` (docs/architecture.md, "Audit log").

The format is UTF-8 JSON lines, each line one object with sorted keys:

1. a header: ``{"format": "mnvault-audit-export", "version": 1, "exported_at": ISO time,
   "entries": N, "checkpoints": M, "public_key": hex, "key_fingerprint": "SHA256:…"}``;
2. M signed checkpoints, by sequence number: ``{"type": "checkpoint", "seq", "entry_hash",
   "created_at", "public_key", "signature"}`` as in the checkpoint file;
3. N entries, ``#1`` to ``#N`` in order: ``{"type": "entry", "prev_hash", "entry_hash"}`` and
   the fields the hash covers (``audit.log.HASHED_FIELDS`` and ``created_at`` in its hashed
   ISO form).

The export signs the head first, so its last checkpoint is at entry ``#N``: every entry in the
file is covered by a signature. Verification re-hashes the chain from the first entry,
checks every checkpoint's signature against the key *given by the auditor* (never the one in
the header, which is only there to be compared), requires every checkpoint to match the
chain, and the last one to be at the last entry. Checkpoints of witnesses (``--witness``) are
checked against the file too, which also catches a file cut back to an earlier checkpoint.

Entries never hold a number (``audit.log.record`` refuses them); the export checks again and
writes nothing if one looks like it does.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mnvault.audit import checkpoints, restores, witness
from mnvault.audit.checkpoints import Checkpoint
from mnvault.audit.log import HASHED_FIELDS, canonical, entry_hash, hashed_fields
from mnvault.audit.models import GENESIS_HASH, AuditEntry
from mnvault.audit.verify import VerifyResult
from mnvault.domain import numbers

FORMAT = "mnvault-audit-export"
VERSION = 1
_ENTRY_COLUMNS = ("created_at", *HASHED_FIELDS, "prev_hash", "entry_hash")
_CHECKPOINT_FIELDS = ("seq", "entry_hash", "created_at", "public_key", "signature")


class ExportRefused(Exception):
    """An entry looked like it held an individual number: nothing was written."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"entry #{seq} looks like it holds an individual number")
        self.seq = seq


@dataclass(frozen=True)
class Exported:
    entries: int
    checkpoints: int
    last: Checkpoint


def _line(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False) + "\n"


def _checkpoints_up_to(seq: int) -> list[Checkpoint]:
    """Every readable checkpoint up to ``seq``, from the database and the checkpoint file,
    each once, by sequence number. Not the file's genesis line: it vouches for the checkpoint
    file on the server, which an export leaves behind."""
    unique = {
        found
        for found in _current_checkpoints()
        if found is not None and found.seq <= seq and not found.is_genesis
    }
    return sorted(unique, key=lambda found: (found.seq, found.created_at))


def _current_checkpoints() -> list[Checkpoint]:
    """The database's checkpoints and the file's, less those a restore superseded (of entries
    lost before it, ``audit.restores``): the export holds the chain as it now is."""
    found = checkpoints.read_file()
    gone = restores.superseded(found)
    in_file = [
        cp
        for index, (_where, cp) in enumerate(found.all_lines)
        if isinstance(cp, Checkpoint) and index not in gone.lines
    ]
    return [cp for _where, cp in checkpoints.database_checkpoints()] + in_file


def _entries(last: int) -> Iterator[dict[str, Any]]:
    rows = AuditEntry.objects.filter(seq__lte=last).order_by("seq").values(*_ENTRY_COLUMNS)
    for row in rows.iterator(chunk_size=5000):
        fields = hashed_fields(row)
        if numbers.holds_number(canonical(fields).decode()):
            raise ExportRefused(row["seq"])
        yield {
            "type": "entry",
            **fields,
            "prev_hash": row["prev_hash"],
            "entry_hash": row["entry_hash"],
        }


def write_export(path: Path, *, last: Checkpoint) -> Exported:
    """Write entries ``#1`` to ``#last.seq`` with the checkpoints up to ``last`` to ``path``:
    readable by its owner only, and complete or not there at all (written beside it, then
    renamed). A chain broken in the database is written as it is, for its verification to
    name the fault. ExportRefused if an entry looks like it holds a number."""
    found = _checkpoints_up_to(last.seq)
    if last not in found:
        found.append(last)
    key = checkpoints.public_key()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "entries": last.seq,
        "checkpoints": len(found),
        "public_key": checkpoints.public_key_hex(key),
        "key_fingerprint": witness.fingerprint(key),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_line(header))
            for checkpoint in found:
                handle.write(_line({"type": "checkpoint", **asdict(checkpoint)}))
            count = 0
            for entry in _entries(last.seq):
                handle.write(_line(entry))
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Exported(count, len(found), last)


# --- verifying an export, without the database ----------------------------------------------


def _fail(entries: int, seq: int | None, message: str) -> VerifyResult:
    return VerifyResult(False, entries, 0, message, seq)


def _objects(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Each non-blank line's number and object; None for a line that is not a JSON object."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield number, None
            continue
        yield number, value if isinstance(value, dict) else None


def _checkpoint(values: dict[str, Any]) -> Checkpoint | None:
    fields = {name: value for name, value in values.items() if name != "type"}
    if sorted(fields) != sorted(_CHECKPOINT_FIELDS) or not isinstance(fields["seq"], int):
        return None
    if not all(isinstance(fields[name], str) for name in _CHECKPOINT_FIELDS[1:]):
        return None
    return Checkpoint(**fields)


def _entry_hash(values: dict[str, Any]) -> str | None:
    """The hash the entry's fields give (with the ``prev_hash`` it claims); None when a field
    is missing or of the wrong kind."""
    try:
        fields = hashed_fields(
            {**values, "created_at": datetime.fromisoformat(values["created_at"])}
        )
        return entry_hash(values["prev_hash"], fields)
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError):
        return None


def verify_export(
    path: Path,
    key: Ed25519PublicKey,
    *,
    witnessed: Iterable[tuple[str, list[tuple[str, witness.Witnessed | None]]]] = (),
) -> VerifyResult:
    """Verify an export file against ``key``, and against the checkpoints of witnesses
    (each a source's name and what was read from it); the first problem, named by line."""
    name = path.name
    wanted: dict[int, list[tuple[str, str]]] = {}
    for source, found in witnessed:
        bad = witness.check_signatures(found, key, source)
        if bad is not None:
            return bad
        for where, w in found:
            assert w is not None  # check_signatures refuses unreadable ones
            wanted.setdefault(w.seq, []).append((where, w.entry_hash))
    key_hex = checkpoints.public_key_hex(key)
    with path.open(encoding="utf-8", errors="replace") as handle:
        objects = _objects(handle)
        header = next(objects, (1, None))[1]
        if (
            header is None
            or header.get("format") != FORMAT
            or header.get("version") != VERSION
            or not isinstance(header.get("entries"), int)
            or not isinstance(header.get("checkpoints"), int)
        ):
            return _fail(0, None, _("%(file)s is not an mnvault audit export") % {"file": name})
        signed: list[Checkpoint] = []
        prev, count = GENESIS_HASH, 0
        for number, values in objects:
            where = f"{name} line {number}"
            kind = values.get("type") if values is not None else None
            if kind == "checkpoint" and count == 0 and values is not None:
                checkpoint = _checkpoint(values)
                if checkpoint is None:
                    return _fail(
                        0, None, _("%(where)s: not a readable checkpoint") % {"where": where}
                    )
                if checkpoint.public_key != key_hex or not checkpoint.signature_holds(key):
                    problem = _("the signature does not hold under the key given")
                    return _fail(0, None, f"{where}: {problem}")
                signed.append(checkpoint)
                wanted.setdefault(checkpoint.seq, []).append((where, checkpoint.entry_hash))
                continue
            if kind != "entry" or values is None:
                return _fail(count, count + 1, _("%(where)s: not an entry") % {"where": where})
            seq = count + 1
            if values.get("seq") != seq:
                return _fail(
                    count,
                    seq,
                    _("%(where)s: entry #%(seq)d is missing") % {"where": where, "seq": seq},
                )
            if values.get("prev_hash") != prev:
                return _fail(
                    count,
                    seq,
                    _("%(where)s: entry #%(seq)d does not follow #%(prev)d")
                    % {"where": where, "seq": seq, "prev": seq - 1},
                )
            digest = _entry_hash(values)
            if digest is None or digest != values.get("entry_hash"):
                return _fail(
                    count,
                    seq,
                    _("%(where)s: entry #%(seq)d was altered") % {"where": where, "seq": seq},
                )
            for other, expected in wanted.get(seq, ()):
                if expected != digest:
                    return _fail(count, seq, witness.mismatch(other, seq, count, digest))
            prev, count = digest, seq
    return _ends(name, header, signed, wanted, count)


def _ends(
    name: str,
    header: dict[str, Any],
    signed: list[Checkpoint],
    wanted: dict[int, list[tuple[str, str]]],
    count: int,
) -> VerifyResult:
    """What the end of the file must show: as many entries and checkpoints as announced, the
    last checkpoint at the last entry, and no checkpoint beyond it."""
    beyond = sorted(seq for seq in wanted if seq > count)
    if beyond:
        where = wanted[beyond[0]][0][0]
        return _fail(count, count + 1, witness.mismatch(where, beyond[0], count, None))
    if count != header["entries"] or len(signed) != header["checkpoints"]:
        return _fail(
            count,
            count + 1,
            _(
                "%(file)s holds %(entries)d entries and %(checkpoints)d checkpoints, but its "
                "header announces %(announced_entries)d and %(announced_checkpoints)d (cut)"
            )
            % {
                "file": name,
                "entries": count,
                "checkpoints": len(signed),
                "announced_entries": header["entries"],
                "announced_checkpoints": header["checkpoints"],
            },
        )
    last = max(signed, key=lambda found: found.seq, default=None)
    if count and (last is None or last.seq != count):
        return _fail(
            count,
            (last.seq if last else 0) + 1,
            _("entries after #%(seq)d are covered by no signed checkpoint")
            % {"seq": last.seq if last else 0},
        )
    message = ngettext(
        "OK: %(n)d entry in %(file)s, chain intact, %(checkpoints)d signed checkpoints hold",
        "OK: %(n)d entries in %(file)s, chain intact, %(checkpoints)d signed checkpoints hold",
        count,
    ) % {"n": count, "file": name, "checkpoints": len(signed)}
    if last is not None:
        message += " " + _("(the last: #%(seq)d, signed %(at)s)") % {
            "seq": last.seq,
            "at": last.created_at,
        }
    return VerifyResult(True, count, len(signed), message)
