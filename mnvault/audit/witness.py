"""Witnesses of the audit log: signed checkpoints kept where the server cannot rewrite them
(docs/architecture.md, "Audit log").

The checkpoints in the database and in ``MNVAULT_CHECKPOINT_FILE`` sit on the server itself:
someone with the database, the disk and even the signing key could rewrite the chain and sign
it again. A checkpoint that has left the machine cannot be taken back, so history before the
last *witnessed* checkpoint cannot be rewritten unseen. Checkpoints leave in two ways:

- **A witness file** (``MNVAULT_CHECKPOINT_WITNESS_FILE``, on other storage — a share, another
  disk, write-once media): each round of ``mnvault serve``'s checkpoint loop appends the
  latest checkpoint unless the file already holds it, one JSON object a line as in the
  checkpoint file.
- **A digest by e-mail** to each company's responsible managers and auditors, daily
  (``oversight.witness``): the block below, which the recipient can save to a file.

``mnvault audit verify --witness FILE`` reads either kind (JSON lines, or digests pasted
among other text, quoted or not) and requires every checkpoint in it to hold: signed by this
installation's key, and matching the chain at its sequence number.

The digest::

    -----BEGIN MNVAULT AUDIT CHECKPOINT-----
    seq: 1234
    entry_hash: <SHA-256 of entry #1234, base64>
    created_at: 2026-11-30T00:00:00.123456+00:00
    signature: <Ed25519 signature of Checkpoint.message(), base64>
    key_fingerprint: SHA256:<SHA-256 of the raw public key, base64 without padding>
    -----END MNVAULT AUDIT CHECKPOINT-----

After a restore from a backup, a witnessed checkpoint of the entries that were lost no longer
matches the chain. It is then superseded — reported, not a failure — when a restore line of the
checkpoint file that ``verify`` found holding (``audit.restores``) was signed after it and
names a head before it; a witness has no place in the file, so its signed time stands in for
one. The restore also appends its restore line to the witness file, which is then skipped
when the witness is read, so the witness file goes on from the restored head.

Base64 rather than hex: a hex digest can hold a run of twelve digits that validates as an
individual number (about one e-mail in a hundred would be refused), base64 practically never.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mnvault.audit import checkpoints, restores
from mnvault.audit.checkpoints import RESTORE_KIND, Checkpoint, RestoreMark
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.audit.verify import VerifyResult

DIGEST_BEGIN = "-----BEGIN MNVAULT AUDIT CHECKPOINT-----"
DIGEST_END = "-----END MNVAULT AUDIT CHECKPOINT-----"
_DIGEST_FIELDS = ("seq", "entry_hash", "created_at", "signature", "key_fingerprint")
_TAIL_BYTES = 8192  # enough for the last line of a witness file
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)
_HEX_KEY = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


class WitnessError(Exception):
    """The latest checkpoint in the database does not hold: it must not be witnessed."""


# --- the public key --------------------------------------------------------------------------


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:`` and the base64 of the raw key's SHA-256, as SSH shows a key's."""
    digest = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A verification key from text: a PEM block anywhere in it (what ``mnvault audit
    public-key`` prints), else the one 64-digit hex key in it. ValueError otherwise."""
    pem = _PEM.search(text)
    if pem is not None:
        key = load_pem_public_key(pem.group().encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        return key
    found = _HEX_KEY.findall(text)
    if len(found) != 1:
        raise ValueError("no Ed25519 public key (PEM, or 64 hex digits)")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(found[0]))


# --- a witnessed checkpoint ------------------------------------------------------------------


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint as a witness keeps it: by the key's fingerprint, since a digest carries no
    key (the verifier brings it)."""

    seq: int
    entry_hash: str  # hex
    created_at: str
    signature: str  # hex
    key_fingerprint: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> Witnessed:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.public_key))
        return cls(
            checkpoint.seq,
            checkpoint.entry_hash,
            checkpoint.created_at,
            checkpoint.signature,
            fingerprint(key),
        )

    def checkpoint(self, key: Ed25519PublicKey) -> Checkpoint:
        return Checkpoint(
            seq=self.seq,
            entry_hash=self.entry_hash,
            created_at=self.created_at,
            public_key=checkpoints.public_key_hex(key),
            signature=self.signature,
        )

    def problem(self, key: Ed25519PublicKey) -> str:
        """Why this checkpoint does not hold under ``key``; empty when it does."""
        if self.key_fingerprint != fingerprint(key):
            return _("signed with another key (%(theirs)s), not the one given (%(ours)s)") % {
                "theirs": self.key_fingerprint,
                "ours": fingerprint(key),
            }
        if not self.checkpoint(key).signature_holds(key):
            return _("the signature does not hold (forged or damaged)")
        return ""


def digest(checkpoint: Checkpoint) -> str:
    """The checkpoint as the e-mailed block (module docstring)."""
    witnessed = Witnessed.of(checkpoint)
    values = {
        "seq": str(witnessed.seq),
        "entry_hash": _b64(witnessed.entry_hash),
        "created_at": witnessed.created_at,
        "signature": _b64(witnessed.signature),
        "key_fingerprint": witnessed.key_fingerprint,
    }
    lines = [DIGEST_BEGIN, *(f"{name}: {values[name]}" for name in _DIGEST_FIELDS), DIGEST_END]
    return "\n".join(lines)


def _b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode("ascii")


def _from_b64(text: str, size: int) -> str:
    raw = base64.b64decode(text, validate=True)
    if len(raw) != size:
        raise ValueError("wrong length")
    return raw.hex()


def _from_digest(fields: dict[str, str]) -> Witnessed | None:
    if sorted(fields) != sorted(_DIGEST_FIELDS):
        return None
    try:
        seq = int(fields["seq"])
        entry_hash = _from_b64(fields["entry_hash"], 32)
        signature = _from_b64(fields["signature"], 64)
    except (ValueError, binascii.Error):
        return None
    if seq < 1 or not fields["key_fingerprint"].startswith("SHA256:"):
        return None
    return Witnessed(seq, entry_hash, fields["created_at"], signature, fields["key_fingerprint"])


def _from_json(line: str) -> Witnessed | None:
    try:
        values = json.loads(line)
        checkpoint = Checkpoint(**values)
        if not isinstance(checkpoint.seq, int) or checkpoint.seq < 1:
            return None
        if not all(
            isinstance(getattr(checkpoint, name), str)
            for name in ("entry_hash", "created_at", "public_key", "signature")
        ):
            return None
        return Witnessed.of(checkpoint)
    except (ValueError, TypeError):
        return None


def _unquoted(line: str) -> str:
    """A line of a saved e-mail without its reply quoting (``> ``, ``>> ``)."""
    line = line.strip()
    while line.startswith(">"):
        line = line[1:].lstrip()
    return line


def parse_witnesses(lines: Iterable[str], name: str) -> list[tuple[str, Witnessed | None]]:
    """Every checkpoint in the text of a witness, each with where it was found (``name line
    N``): JSON lines, and digests among any other text. A block or JSON line that cannot be
    read comes as None, so that a damaged witness is reported rather than skipped."""
    found: list[tuple[str, Witnessed | None]] = []
    block: dict[str, str] | None = None
    start = 0
    for number, raw in enumerate(lines, start=1):
        line = _unquoted(raw)
        if block is not None:
            if line == DIGEST_END:
                found.append((f"{name} line {start}", _from_digest(block)))
                block = None
            elif line:
                key, colon, value = line.partition(":")
                if not colon or key.strip() in block:
                    block = {"": ""}  # not a digest's line: the block is damaged
                else:
                    block[key.strip()] = value.strip()
        elif line == DIGEST_BEGIN:
            block, start = {}, number
        elif line.startswith("{") and _is_restore_line(line):
            continue  # checked where it counts: in the checkpoint file
        elif line.startswith("{"):
            found.append((f"{name} line {number}", _from_json(line)))
    if block is not None:
        found.append((f"{name} line {start}", None))  # cut before its end
    return found


def _is_restore_line(line: str) -> bool:
    try:
        values = json.loads(line)
    except ValueError:
        return False
    return isinstance(values, dict) and values.get("kind") == RESTORE_KIND


def read_witnesses(path: Path) -> list[tuple[str, Witnessed | None]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return parse_witnesses(handle, path.name)


# --- checking the chain against witnesses ----------------------------------------------------


def _fail(entries: int, seq: int | None, message: str) -> VerifyResult:
    return VerifyResult(False, entries, 0, message, seq)


def check_signatures(
    found: list[tuple[str, Witnessed | None]], key: Ed25519PublicKey, source: str
) -> VerifyResult | None:
    """A failure naming the first witnessed checkpoint that is damaged or does not hold under
    ``key``, or that ``source`` holds none at all (a wrong file must not pass); else None."""
    if not found:
        return _fail(0, None, _("%(file)s holds no checkpoint") % {"file": source})
    for where, witnessed in found:
        if witnessed is None:
            return _fail(0, None, _("%(where)s: not a readable checkpoint") % {"where": where})
        problem = witnessed.problem(key)
        if problem:
            return _fail(0, None, f"{where}: {problem}")
    return None


def mismatch(where: str, seq: int, count: int, digest: str | None) -> str:
    """How the chain disagrees with the witnessed checkpoint at ``seq``, given the chain's
    length and its hash at ``seq`` (None when it is shorter)."""
    if digest is None:
        return _(
            "entries #%(first)d to #%(last)d are missing: %(where)s covers %(last)d entries"
        ) % {"first": count + 1, "last": seq, "where": where}
    return _(
        "entry #%(seq)d differs from %(where)s: the chain was rewritten at or before #%(seq)d"
    ) % {"seq": seq, "where": where}


def check_chain(
    found: list[tuple[str, Witnessed | None]],
    *,
    entries: int,
    source: str,
    restored: tuple[tuple[str, RestoreMark], ...] = (),
) -> VerifyResult:
    """The chain in the database against the witnessed checkpoints of ``source``, after
    ``verify`` found the chain itself intact with ``entries`` entries: every one must be
    signed by this installation's key and match the chain's hash at its sequence number,
    unless one of the ``restored`` lines that held supersedes it (module docstring)."""
    key = checkpoints.public_key()
    bad = check_signatures(found, key, source)
    if bad is not None:
        return VerifyResult(False, entries, 0, bad.message, None)
    every = sorted(
        ((w.seq, where, w) for where, w in found if w is not None), key=lambda item: item[0]
    )
    witnessed = [
        item for item in every if not restores.supersedes(restored, item[0], item[2].created_at)
    ]
    lost = len(every) - len(witnessed)
    if not witnessed:
        return VerifyResult(True, entries, 0, _superseded_note(lost, source))
    hashes = dict(
        AuditEntry.objects.filter(seq__in={seq for seq, _, _ in witnessed}).values_list(
            "seq", "entry_hash"
        )
    )
    for seq, where, w in witnessed:
        if hashes.get(seq) != w.entry_hash:
            return _fail(entries, seq, mismatch(where, seq, entries, hashes.get(seq)))
    last = witnessed[-1][2]
    message = ngettext(
        "OK: %(n)d witnessed checkpoint in %(file)s matches the chain "
        "(the latest: #%(seq)d, signed %(at)s)",
        "OK: %(n)d witnessed checkpoints in %(file)s match the chain "
        "(the latest: #%(seq)d, signed %(at)s)",
        len(witnessed),
    ) % {"n": len(witnessed), "file": source, "seq": last.seq, "at": last.created_at}
    if lost:
        message += " " + _superseded_note(lost, source)
    return VerifyResult(True, entries, len(witnessed), message)


def _superseded_note(count: int, source: str) -> str:
    return ngettext(
        "%(n)d witnessed checkpoint in %(file)s is of entries lost before a signed restore "
        "from a backup (superseded, not checked)",
        "%(n)d witnessed checkpoints in %(file)s are of entries lost before a signed restore "
        "from a backup (superseded, not checked)",
        count,
    ) % {"n": count, "file": source}


# --- witnessing ------------------------------------------------------------------------------


def witness_file() -> Path | None:
    """The second location (``MNVAULT_CHECKPOINT_WITNESS_FILE``), if one is set."""
    value = getattr(settings, "MNVAULT_CHECKPOINT_WITNESS_FILE", None)
    return Path(value) if value else None


def latest_signed() -> Checkpoint | None:
    """The latest checkpoint in the database, once its signature is checked: a row forged
    there must never be sent out as a witness (WitnessError)."""
    row = AuditCheckpoint.objects.order_by("-seq", "-pk").first()
    if row is None:
        return None
    found = Checkpoint(
        seq=row.seq,
        entry_hash=row.entry_hash,
        created_at=row.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        public_key=row.public_key,
        signature=row.signature,
    )
    key = checkpoints.public_key()
    if found.public_key != checkpoints.public_key_hex(key) or not found.signature_holds(key):
        raise WitnessError(f"database checkpoint {row.pk}: the signature does not hold")
    return found


def current_checkpoint() -> Checkpoint | None:
    """A checkpoint of the current head: signed now if the head moved since the last one;
    None while the log is empty."""
    return checkpoints.write_checkpoint() or latest_signed()


def sign_and_witness(*, path: Path | None = None) -> Checkpoint | None:
    """One round of ``mnvault serve``'s checkpoint loop: sign the head if it moved, then copy
    the latest checkpoint to the witness file (if one is set) unless it already holds it or
    a later one. A witness file that cannot be written fails the round — recorded, so that
    ``/healthz`` says so — after the checkpoint itself was kept."""
    checkpoint = current_checkpoint()
    target = path or witness_file()
    if checkpoint is not None and target is not None and _last_seq(target) < checkpoint.seq:
        _append(target, checkpoint)
    return checkpoint


def _last_seq(path: Path) -> int:
    """The sequence number of the witness file's last line; 0 when there is none to read."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - _TAIL_BYTES, 0))
            tail = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return 0
    lines = [line for line in tail.splitlines() if line.strip()]
    if lines and _is_restore_line(lines[-1]):
        mark = json.loads(lines[-1])
        return mark["head_seq"] if isinstance(mark.get("head_seq"), int) else 0
    witnessed = _from_json(lines[-1]) if lines else None
    return witnessed.seq if witnessed is not None else 0


def witness_restore(mark: RestoreMark, *, path: Path | None = None) -> None:
    """The restore line appended to the witness file (if one is set): a copy of it off the
    server, and the point from which the witness file takes checkpoints of the new chain."""
    target = path or witness_file()
    if target is not None:
        _write_line(target, asdict(mark))


def _append(path: Path, checkpoint: Checkpoint) -> None:
    _write_line(path, asdict(checkpoint))


def _write_line(path: Path, values: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(values, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
