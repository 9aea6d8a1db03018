"""Signed checkpoints of the chain head (Ed25519, key kept outside the database). Each is stored
in the database and appended to a file outside it, so rewriting the whole table, or cutting its
tail, is caught by ``verify`` (docs/architecture.md, "Audit log"; docs/threat-model.md).

The file starts with a signed genesis line (entry #0), written when the installation is made,
so that from then on a missing or emptied file is a failure, never "nothing to check". The
genesis line also names the file: each checkpoint row in the database records the file it was
appended to (``file_id``), and ``verify`` requires every row of a file to be in that file, so
lines removed from it are caught, while several app servers may each keep a file of their own.
A restore from a backup appends a signed restore line (``RestoreMark``): the checkpoints before
it past the restored head belong to a chain that was lost (``audit.restores``).
Lines are appended under a lock; a last line cut short by a crash is not tampering: ``verify``
warns about it, and the next append removes it before writing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils.translation import gettext as _

from mnvault.audit import signing
from mnvault.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEntry

_TAIL = 4096  # bytes read back to find the start of the last line (a line is about 350)


@dataclass(frozen=True)
class Checkpoint:
    """``seq`` is also the entry count: sequence numbers run from 1 without gaps. The genesis
    checkpoint has ``seq`` 0 and the genesis hash."""

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

    @property
    def is_genesis(self) -> bool:
        return self.seq == 0

    @property
    def file_id(self) -> str:
        """Of a genesis checkpoint: the name of the file it starts (its signature is unique)."""
        return self.signature[:32]


@dataclass(frozen=True)
class RestoreMark:
    """A signed line saying that the log was restored from a backup whose last entry was
    ``head_seq`` (hash ``head_hash``): every checkpoint written to the file before this line
    past ``head_seq`` (up to ``lost_to``) is of entries that were lost. It names the restore's
    own audit entry (``restore_entry_seq``, ``restore_entry_hash``) and the signature of the
    line it was appended after (``follows``), so it can be neither moved nor replayed."""

    kind: str
    head_seq: int
    head_hash: str
    lost_to: int
    restore_entry_seq: int
    restore_entry_hash: str
    follows: str
    created_at: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return (
            f"mnvault-audit-restore:v1|head={self.head_seq}|head_hash={self.head_hash}"
            f"|lost_to={self.lost_to}|entry={self.restore_entry_seq}"
            f"|entry_hash={self.restore_entry_hash}|follows={self.follows}|at={self.created_at}"
        ).encode()

    def signature_holds(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True


RESTORE_KIND = "restore"
Line = Checkpoint | RestoreMark


@dataclass(frozen=True)
class CheckpointFile:
    """What the checkpoint file holds: each complete line in order with where it is (None for
    a line that is neither a checkpoint nor a restore line), and whether its last line was cut
    short by an interrupted write (``torn``; that line is left out)."""

    path: Path
    exists: bool
    all_lines: list[tuple[str, Line | None]] = field(default_factory=list)
    torn: bool = False

    @property
    def lines(self) -> list[tuple[str, Checkpoint | None]]:
        """Every line but the restore lines."""
        return [(where, f) for where, f in self.all_lines if not isinstance(f, RestoreMark)]

    @property
    def marks(self) -> list[tuple[str, RestoreMark]]:
        return [(where, f) for where, f in self.all_lines if isinstance(f, RestoreMark)]

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return [checkpoint for _where, checkpoint in self.lines if checkpoint is not None]

    @property
    def genesis(self) -> Checkpoint | None:
        return next((cp for cp in self.checkpoints if cp.is_genesis), None)


def public_key() -> Ed25519PublicKey:
    return signing.signing_key().public_key()


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def checkpoint_file() -> Path:
    return Path(settings.MNVAULT_CHECKPOINT_FILE)


def _signed(seq: int, digest: str) -> Checkpoint:
    signing_key = signing.signing_key()
    unsigned = Checkpoint(
        seq=seq,
        entry_hash=digest,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        public_key=public_key_hex(signing_key.public_key()),
        signature="",
    )
    return Checkpoint(
        **{**asdict(unsigned), "signature": signing_key.sign(unsigned.message()).hex()}
    )


def write_checkpoint(*, path: Path | None = None) -> Checkpoint | None:
    """Sign the current head; None when the log is empty or the head is already signed."""
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    if last is None:
        return None
    if AuditCheckpoint.objects.filter(seq=last[0], entry_hash=last[1]).exists():
        return None
    checkpoint = _signed(*last)
    file_id = _append_to_file(path or checkpoint_file(), checkpoint)
    AuditCheckpoint.objects.create(
        **{**asdict(checkpoint), "created_at": datetime.fromisoformat(checkpoint.created_at)},
        file_id=file_id,
    )
    return checkpoint


def write_genesis(path: Path | None = None) -> Checkpoint | None:
    """Start the checkpoint file with a signed checkpoint of the empty log (entry #0); None
    when the file already has its genesis line. The file alone: the database has no row for
    it (tests call this before any database is set up, as ``mnvault init`` does before
    anything is logged)."""
    written: list[Checkpoint] = []
    _append_to_file(path or checkpoint_file(), None, made=written)
    return written[0] if written else None


def ensure_genesis(path: Path | None = None) -> Checkpoint | None:
    """The genesis line, run by ``mnvault init`` and ``mnvault serve`` after migrating: for a
    new installation, and for a file written before genesis lines existed. A log with entries
    and no checkpoint in the file (deleted, emptied) is left alone: ``verify`` reports it, and
    only someone holding the signing key can vouch for the log again (``mnvault audit
    checkpoint``)."""
    path = path or checkpoint_file()
    if not read_file(path).checkpoints and AuditEntry.objects.exists():
        return None
    return write_genesis(path)


def _line(checkpoint: Checkpoint) -> bytes:
    return (json.dumps(asdict(checkpoint), sort_keys=True) + "\n").encode("utf-8")


def _append_to_file(
    path: Path, checkpoint: Checkpoint | None, *, made: list[Checkpoint] | None = None
) -> str:
    """Append one line, after mending a last line that a crash left without its end
    (appending to it would make both lines unreadable) and writing the file's genesis line if
    it has none; the file's id (its genesis line's). The genesis line written, if any, is
    added to ``made``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        _lock(handle)
        _mend_tail(handle)
        genesis = _genesis_in(handle)
        if genesis is None:
            genesis = _signed(0, GENESIS_HASH)
            handle.write(_line(genesis))
            if made is not None:
                made.append(genesis)
        if checkpoint is not None:
            handle.write(_line(checkpoint))
        os.fsync(handle.fileno())
    return genesis.file_id


def _genesis_in(handle: IO[bytes]) -> Checkpoint | None:
    """The file's genesis line: its first line, or for a file begun before genesis lines
    existed, the one appended later."""
    handle.seek(0)
    first = _parse(handle.read(_TAIL).split(b"\n", 1)[0])
    if first is not None and first.is_genesis:
        return first
    handle.seek(0)
    for line in handle.read().split(b"\n"):
        found = _parse(line)
        if found is not None and found.is_genesis:
            return found
    return None


def _lock(handle: IO[bytes]) -> None:
    """One writer at a time (the serve loop, ``mnvault audit checkpoint``, an import); the lock
    goes with the file's closing. Windows has no ``fcntl``: there the appends are not locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _mend_tail(handle: IO[bytes]) -> None:
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return
    start = max(0, size - _TAIL)
    handle.seek(start)
    tail = handle.read()
    if tail.endswith(b"\n"):
        return
    if b"\n" not in tail and start > 0:  # a last line longer than the tail: read it all
        start = 0
        handle.seek(0)
        tail = handle.read()
    cut = tail.rfind(b"\n") + 1  # 0 when the whole tail is one unfinished line
    if _parse_line(tail[cut:]) is not None:
        handle.write(b"\n")  # a whole checkpoint that only lacks its line end
    else:
        os.ftruncate(handle.fileno(), start + cut)


def _parse_line(line: bytes) -> Line | None:
    """A checkpoint or a restore line, or None for anything else."""
    try:
        fields: Any = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    if isinstance(fields, dict) and fields.get("kind") == RESTORE_KIND:
        return _parse_mark(fields)
    return _parse(line)


def _parse_mark(fields: dict[str, Any]) -> RestoreMark | None:
    try:
        mark = RestoreMark(**fields)
    except TypeError:
        return None
    counts = (mark.head_seq, mark.lost_to, mark.restore_entry_seq)
    texts = (mark.head_hash, mark.restore_entry_hash, mark.follows, mark.created_at)
    if not all(type(n) is int for n in counts):
        return None
    if not all(isinstance(t, str) for t in (*texts, mark.public_key, mark.signature)):
        return None
    return mark


def _parse(line: bytes) -> Checkpoint | None:
    """The checkpoint on one line, or None for anything else (with the types checked: a count
    given as text must not reach the comparisons of ``verify``)."""
    try:
        fields: Any = json.loads(line.decode("utf-8"))
        checkpoint = Checkpoint(**fields)
    except (ValueError, TypeError):
        return None
    texts = (checkpoint.entry_hash, checkpoint.created_at, checkpoint.public_key)
    if type(checkpoint.seq) is not int or not all(isinstance(t, str) for t in texts):
        return None
    if not isinstance(checkpoint.signature, str):
        return None
    return checkpoint


def read_file(path: Path | None = None) -> CheckpointFile:
    """Every line of the checkpoint file. The last line counts as torn when it has no line end
    and is not a checkpoint: what an append interrupted by a crash leaves."""
    path = path or checkpoint_file()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return CheckpointFile(path, exists=False)
    pieces = data.split(b"\n")
    last = pieces.pop()  # b"" when the file ends with a line end
    torn = False
    if last:
        if _parse_line(last) is None:
            torn = True
        else:
            pieces.append(last)
    lines = [
        (_("%(file)s line %(line)d") % {"file": path.name, "line": number}, _parse_line(piece))
        for number, piece in enumerate(pieces, start=1)
    ]
    return CheckpointFile(path, exists=True, all_lines=lines, torn=torn)


def append_restore_mark(
    build: Callable[[str], RestoreMark], path: Path | None = None
) -> RestoreMark:
    """Append the restore line that ``build`` makes, given the signature of the line it will
    follow (read under the file's lock, so that nothing comes in between); the genesis line
    is written first when the file has none."""
    path = path or checkpoint_file()
    _append_to_file(path, None)  # the genesis line, if the file has none
    fd = os.open(path, os.O_RDWR | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        _lock(handle)
        _mend_tail(handle)
        handle.seek(0)
        previous = [_parse_line(line) for line in handle.read().split(b"\n") if line]
        follows = next((line.signature for line in reversed(previous) if line is not None), "")
        mark = build(follows)
        handle.write((json.dumps(asdict(mark), sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(handle.fileno())
    return mark


def signed_mark(**fields: Any) -> RestoreMark:
    """A restore line of ``fields`` (all but the time, the key and the signature), signed
    with the installation's key now."""
    signing_key = signing.signing_key()
    unsigned = RestoreMark(
        kind=RESTORE_KIND,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        public_key=public_key_hex(signing_key.public_key()),
        signature="",
        **fields,
    )
    return replace(unsigned, signature=signing_key.sign(unsigned.message()).hex())


def database_checkpoints() -> list[tuple[str, Checkpoint]]:
    """The checkpoints kept in the database, each with where it is."""
    return [
        (
            _("database checkpoint %(id)d") % {"id": row.pk},
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


def written_to(file_id: str) -> list[Checkpoint]:
    """The checkpoints the database says were appended to the file named ``file_id``."""
    rows = AuditCheckpoint.objects.filter(file_id=file_id).order_by("seq", "pk")
    return [
        Checkpoint(
            seq=row.seq,
            entry_hash=row.entry_hash,
            created_at=row.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            public_key=row.public_key,
            signature=row.signature,
        )
        for row in rows
    ]
