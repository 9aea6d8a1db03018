"""The disposal certificate (削除証明書): a PDF that tells a third party — an authority, an
auditor, the disposed person — what was destroyed, how, by whom and when, and proves it
offline (issue 12, item 5).

The proof rests on the audit log, not on the PDF. The certified facts (``facts``: everything
printed but the language) are hashed (``facts_digest``); the disposal workflow writes that
digest into its ``disposal.certify`` entry, and ``build_proof`` takes from the log that entry,
every entry after it up to a signed checkpoint, and the checkpoint. The PDF embeds facts and
proof as a JSON attachment (``disposal-certificate.json``) and a compact form as a QR code.
``verify_certificate`` needs neither the database nor the installation: it re-hashes the
facts, finds the digest in the certify entry, re-hashes each entry and the chain up to the
checkpoint, checks the checkpoint's Ed25519 signature, compares the key with the one the
verifier was given (``mnvault audit public-key``), and checks that the printed page names the
people the attachment names. Editing any printed or attached fact, forging the signature, or
presenting a proof of another installation fails.

What the proof holds: the hashed fields of the entries from the certify entry to the
checkpoint (ids, actions, actor labels — never a number). Entries written between the two
by other activity of the installation are part of it, since a hash chain cannot be redacted;
``build_proof`` uses the earliest signed checkpoint that covers the entry, so called right
after the certify entry commits, the proof is that entry and the few written meanwhile.

Hashes and signatures are shown in base64 rather than hex (as in the audit digests of
``audit.witness``): a hex string can hold a run of twelve digits that validates as an
individual number, base64 practically never.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.checkpoints import Checkpoint, public_key, public_key_hex, write_checkpoint
from mnvault.audit.log import HASHED_FIELDS, canonical, entry_hash, hashed_fields
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.domain.numbers import holds_number
from mnvault.usage.pdf import fonts
from mnvault.usage.pdf.layout import Frame, refuse_numbers, wrap

FORMAT = "mnvault-disposal-certificate"
PROOF_FORMAT = "mnvault-audit-proof"
VERSION = 1
ATTACHMENT = "disposal-certificate.json"
QR_PREFIX = "MNVDC1"
JST = ZoneInfo("Asia/Tokyo")

# The method the disposal workflow certifies (crypto-shredding, docs/architecture.md): the
# text in the facts is this code; the page shows it as a sentence in its language.
CRYPTO_SHREDDING = "crypto-shredding: AES-256 data key destroyed; ciphertext deleted"
METHODS = {
    CRYPTO_SHREDDING: gettext_lazy(
        "Crypto-shredding: the person's AES-256 data key (and the keys of their identity "
        "document photos) was destroyed in the key store, and the ciphertext deleted. No copy "
        "of the data can be decrypted without that key."
    ),
}
# What a subject's ``destroyed`` may name.
DESTROYED = {
    "number": gettext_lazy("Individual number"),
    "dependent_numbers": gettext_lazy("Dependents' individual numbers"),
    "document_photos": gettext_lazy("Identity document photos"),
}


@dataclass(frozen=True)
class Subject:
    """One disposed person — never a number."""

    person_id: int
    name: str
    employee_code: str
    birth_date: date | None
    destroyed: tuple[str, ...]  # keys of DESTROYED
    early_reason: str = ""  # disposed before the computed date, and why


@dataclass(frozen=True)
class CertificateData:
    number: str  # certificate number, e.g. "C-2026-000012"
    company_name: str
    company_id: int
    subjects: tuple[Subject, ...]
    method: str  # CRYPTO_SHREDDING
    proposer: str
    approver: str
    proposed_at: datetime
    approved_at: datetime
    disposed_at: datetime
    key_backups_expire_on: date | None  # the last key-store backup holding the keys expires
    language: str = "ja"  # "ja" or "en"


@dataclass
class Verdict:
    ok: bool
    problems: list[str] = field(default_factory=list)
    number: str = ""
    fingerprint: str = ""


# --- the certified facts -----------------------------------------------------------------------


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def facts(data: CertificateData) -> dict[str, Any]:
    """What the certificate certifies, as plain JSON values (times in UTC): everything but the
    language, so the English and the Japanese certificate of one disposal have one digest."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "number": data.number,
        "company_name": data.company_name,
        "company_id": data.company_id,
        "subjects": [
            {
                "person_id": s.person_id,
                "name": s.name,
                "employee_code": s.employee_code,
                "birth_date": s.birth_date.isoformat() if s.birth_date else None,
                "destroyed": list(s.destroyed),
                "early_reason": s.early_reason,
            }
            for s in data.subjects
        ],
        "method": data.method,
        "proposer": data.proposer,
        "approver": data.approver,
        "proposed_at": _instant(data.proposed_at),
        "approved_at": _instant(data.approved_at),
        "disposed_at": _instant(data.disposed_at),
        "key_backups_expire_on": (
            data.key_backups_expire_on.isoformat() if data.key_backups_expire_on else None
        ),
    }


def _digest(values: dict[str, Any]) -> str:
    return base64.b64encode(hashlib.sha256(canonical(values)).digest()).decode("ascii")


def facts_digest(data: CertificateData) -> str:
    """Base64 SHA-256 of the canonical JSON of the facts; the disposal workflow writes it into
    the ``disposal.certify`` entry (detail ``{"certificate": number, "digest": digest}``)."""
    return _digest(facts(data))


def data_from_facts(values: dict[str, Any], language: str = "ja") -> CertificateData:
    """The facts read back (from an attachment); ValueError when they are not well formed."""
    try:
        subjects = tuple(
            Subject(
                person_id=int(s["person_id"]),
                name=str(s["name"]),
                employee_code=str(s["employee_code"]),
                birth_date=date.fromisoformat(s["birth_date"]) if s["birth_date"] else None,
                destroyed=tuple(str(code) for code in s["destroyed"]),
                early_reason=str(s["early_reason"]),
            )
            for s in values["subjects"]
        )
        expiry = values["key_backups_expire_on"]
        return CertificateData(
            number=str(values["number"]),
            company_name=str(values["company_name"]),
            company_id=int(values["company_id"]),
            subjects=subjects,
            method=str(values["method"]),
            proposer=str(values["proposer"]),
            approver=str(values["approver"]),
            proposed_at=datetime.fromisoformat(values["proposed_at"]),
            approved_at=datetime.fromisoformat(values["approved_at"]),
            disposed_at=datetime.fromisoformat(values["disposed_at"]),
            key_backups_expire_on=date.fromisoformat(expiry) if expiry else None,
            language=language,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError("the certified facts are not well formed") from error


# --- the proof from the audit log ----------------------------------------------------------------


def _row_checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        seq=row.seq,
        entry_hash=row.entry_hash,
        created_at=row.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        public_key=row.public_key,
        signature=row.signature,
    )


def _covering_checkpoint(seq: int) -> Checkpoint | None:
    """The earliest checkpoint at or after ``seq`` that holds under this installation's key:
    the fewest entries in the proof."""
    key = public_key()
    key_hex = public_key_hex(key)
    for row in AuditCheckpoint.objects.filter(seq__gte=seq).order_by("seq", "pk"):
        found = _row_checkpoint(row)
        if found.public_key == key_hex and found.signature_holds(key):
            return found
    return None


def build_proof(*, certificate_entry_seq: int) -> dict[str, Any]:
    """The entries from the ``disposal.certify`` entry ``certificate_entry_seq`` up to a
    signed checkpoint covering it (one is signed now when none does yet), each with its hashed
    fields, ``prev_hash`` and ``entry_hash`` (base64), and that checkpoint: enough to
    recompute the chain offline. ValueError when that entry is not a certify entry.

    Call it after the certify entry's transaction has committed: signing appends a line to the
    checkpoint file, which a rollback afterwards would leave naming an entry that never was
    (``audit verify`` would then fail for good). The proof is kept with the certificate, so a
    certificate made again later shows the same proof."""
    action = AuditEntry.objects.filter(seq=certificate_entry_seq).values_list("action", flat=True)
    if list(action) != [Action.DISPOSAL_CERTIFY.value]:
        raise ValueError(f"audit entry #{certificate_entry_seq} is not a disposal.certify entry")
    checkpoint = _covering_checkpoint(certificate_entry_seq)
    if checkpoint is None:
        write_checkpoint()
        checkpoint = _covering_checkpoint(certificate_entry_seq)
    if checkpoint is None:
        raise RuntimeError("no signed checkpoint covers the certify entry")
    rows = (
        AuditEntry.objects.filter(seq__gte=certificate_entry_seq, seq__lte=checkpoint.seq)
        .order_by("seq")
        .values("created_at", *HASHED_FIELDS, "prev_hash", "entry_hash")
    )
    entries = []
    for row in rows:
        fields = hashed_fields(row)
        if holds_number(canonical(fields).decode()):  # record refuses these; checked again
            raise ValueError(f"audit entry #{row['seq']} looks like it holds a number")
        hashes = {"prev_hash": _b64(row["prev_hash"]), "entry_hash": _b64(row["entry_hash"])}
        entries.append({**fields, **hashes})
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.public_key))
    signed = asdict(checkpoint)
    for name in _HEX_FIELDS:
        signed[name] = _b64(signed[name])
    return {
        "format": PROOF_FORMAT,
        "version": VERSION,
        "entries": entries,
        "checkpoint": signed,
        "key_fingerprint": witness.fingerprint(key),
    }


_HEX_FIELDS = ("entry_hash", "public_key", "signature")  # of a checkpoint


def _b64(hex_value: str) -> str:
    """A hash, key or signature as the proof carries it (the log keeps them in hex)."""
    return base64.b64encode(bytes.fromhex(hex_value)).decode("ascii")


def _hex(b64_value: Any) -> str | None:
    """Back to the log's hex form; None when it is not base64."""
    if not isinstance(b64_value, str):
        return None
    try:
        return base64.b64decode(b64_value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def compact(values: dict[str, Any], proof: dict[str, Any]) -> str:
    """The QR code's text: certificate number, facts digest, the checkpoint's sequence number,
    hash and signature (base64, as the proof has them), and the key's fingerprint, separated
    by ``|``."""
    checkpoint = proof["checkpoint"]
    return "|".join(
        [
            QR_PREFIX,
            str(values["number"]),
            _digest(values),
            str(checkpoint["seq"]),
            str(checkpoint["entry_hash"]),
            str(checkpoint["signature"]),
            str(proof["key_fingerprint"]),
        ]
    )


# --- the PDF -------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 42.0
WIDTH = PAGE_WIDTH - 2 * MARGIN
ROW = 18.0
# Subjects' table: name, employee code, birth date, what was destroyed (points).
COLUMNS = (130.0, 70.0, 75.0, WIDTH - 275.0)
LATER_TOP = 40.0  # where the table continues on the following pages, from the top margin
QR_SIZE = 92.0
BOTTOM = PAGE_HEIGHT - 2 * MARGIN - 24.0  # the last row's bottom, from the top margin


def _day(value: date) -> str:
    if translation.get_language() == "ja":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def _time(value: datetime) -> str:
    local = value.astimezone(JST)
    if translation.get_language() == "ja":
        return f"{_day(local.date())} {local:%H:%M} (JST)"
    return f"{local:%Y-%m-%d %H:%M} JST"


def _destroyed(codes: tuple[str, ...]) -> str:
    separator = "、" if translation.get_language() == "ja" else ", "
    return separator.join(str(DESTROYED.get(code, code)) for code in codes) if codes else "—"


_TOKEN = re.compile(r"[!-~]+ *| +|.")  # a run of ASCII (a word and its spaces), else one character


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines no wider than ``width``: Japanese breaks at any character, English between
    words (``layout.wrap`` breaks anywhere, which cuts English words in two)."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        if line and stringWidth((line + token).rstrip(), font, size) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    lines.append(line.rstrip())
    return [piece for long in lines for piece in wrap(long, font, size, width)]


def _subject_cells(subject: Subject) -> tuple[str, str, str, str]:
    """A subject's row as printed; ``verify_certificate`` looks for the same texts."""
    birth = _day(subject.birth_date) if subject.birth_date else "—"
    return subject.name, subject.employee_code, birth, _destroyed(subject.destroyed)


def _backup_sentence(expiry: date | None) -> str:
    if expiry is None:
        return _("No backup of the key store holds these keys: they exist nowhere any more.")
    return _(
        "The last backup of the key store that held these keys expires on %(date)s; from then "
        "on no copy of the keys exists anywhere."
    ) % {"date": _day(expiry)}


# A row of the subjects' table: the subject's cells, or (True) the line under it giving the
# reason for an early disposal.
Row = tuple[Subject, bool]


def _rows(subjects: tuple[Subject, ...]) -> list[Row]:
    rows: list[Row] = []
    for subject in subjects:
        rows.append((subject, False))
        if subject.early_reason:
            rows.append((subject, True))
    return rows


def _pages(rows: list[Row], first_top: float) -> list[list[Row]]:
    """The rows of each page: below the header on the first, from the top on the others."""
    first = max(int((BOTTOM - first_top - ROW) // ROW), 0)
    later = int((BOTTOM - LATER_TOP - ROW) // ROW)
    pages = [rows[:first]]
    rest = rows[first:]
    while rest:
        pages.append(rest[:later])
        rest = rest[later:]
    return pages


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as vector squares, ``(x, y)`` its bottom left."""
    matrix = [list(row) for row in segno.make(text, error="m").matrix_iter(border=0)]
    cell = size / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def _draw_header(frame: Frame, data: CertificateData, qr: str) -> float:
    """The first page above the table; where the table starts."""
    frame.text(WIDTH / 2, 26, _("Certificate of disposal"), 20, font=frame.mincho, align="center")
    head = WIDTH - 110
    frame.text(0, 60, _("Certificate number: %(number)s") % {"number": data.number}, 10, width=head)
    frame.text(0, 76, _("Company: %(company)s") % {"company": data.company_name}, 10, width=head)
    qr_bottom = 38 + QR_SIZE
    _draw_qr(frame.canvas, qr, MARGIN + WIDTH - QR_SIZE, PAGE_HEIGHT - MARGIN - qr_bottom, QR_SIZE)
    y = 100.0
    statement = _(
        "We certify that the specific personal information (個人番号) of the people listed below "
        "was disposed of as follows, and can no longer be restored."
    )
    for line in _wrap(statement, frame.mincho, 9.5, WIDTH - 104):
        frame.text(0, y, line, 9.5, font=frame.mincho)
        y += 14
    y = max(y + 8, qr_bottom + 18)
    method = str(METHODS.get(data.method, data.method))
    rows = [
        (_("Method"), method),
        (_("Proposed by"), f"{data.proposer}  {_time(data.proposed_at)}"),
        (_("Approved by"), f"{data.approver}  {_time(data.approved_at)}"),
        (_("Disposed on"), _time(data.disposed_at)),
        (_("Key-store backups"), _backup_sentence(data.key_backups_expire_on)),
    ]
    for label, value in rows:
        frame.text(0, y, label, 9, font=frame.gothic)
        lines = _wrap(value, frame.mincho, 9, WIDTH - 100)
        for line in lines:
            frame.text(100, y, line, 9, font=frame.mincho)
            y += 13
        y += 5
    return y + 12


def _draw_table(frame: Frame, rows: list[Row], top: float) -> None:
    heads = (_("Name"), _("Employee code"), _("Date of birth"), _("Destroyed"))
    x = 0.0
    for width, head in zip(COLUMNS, heads, strict=True):
        frame.box(x, top, width, ROW)
        frame.text(x + 4, top + 12.5, head, 8.5, font=frame.gothic)
        x += width
    for i, (subject, is_reason) in enumerate(rows, start=1):
        y = top + i * ROW
        if is_reason:
            frame.box(0, y, WIDTH, ROW, width=0.3)
            note = _("Disposed of before the computed date: %(reason)s") % {
                "reason": subject.early_reason
            }
            frame.text(14, y + 12.5, note, 8, font=frame.mincho, width=WIDTH - 18)
            continue
        x = 0.0
        for width, cell in zip(COLUMNS, _subject_cells(subject), strict=True):
            frame.box(x, y, width, ROW, width=0.3)
            frame.text(x + 4, y + 12.5, cell, 8.5, width=width - 8)
            x += width


def _draw_footer(frame: Frame, data: CertificateData, page: int, pages: int, fp: str) -> None:
    footer = _("%(number)s — page %(page)d of %(pages)d — audit key %(fingerprint)s") % {
        "number": data.number,
        "page": page,
        "pages": pages,
        "fingerprint": fp,
    }
    frame.text(WIDTH / 2, PAGE_HEIGHT - 2 * MARGIN + 14, footer, 7, align="center")
    check = _("Verify offline: mnvault certificate verify FILE.pdf --public-key KEY")
    frame.text(WIDTH / 2, PAGE_HEIGHT - 2 * MARGIN + 24, check, 7, align="center")


def _render(data: CertificateData, proof: dict[str, Any], qr: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(_("Certificate of disposal") + " " + data.number)
    fonts.register()
    frame = Frame(canvas, MARGIN, PAGE_HEIGHT - MARGIN)
    top = _draw_header(frame, data, qr)
    pages = _pages(_rows(data.subjects), top)
    fingerprint = str(proof["key_fingerprint"])
    for number, rows in enumerate(pages, start=1):
        if number > 1:
            frame = Frame(canvas, MARGIN, PAGE_HEIGHT - MARGIN)
            frame.text(0, 20, _("Certificate of disposal") + "  " + data.number, 11)
            top = LATER_TOP
        _draw_table(frame, rows, top)
        _draw_footer(frame, data, number, len(pages), fingerprint)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def certificate_pdf(data: CertificateData, proof: dict[str, Any], out: BinaryIO) -> None:
    """The certificate, A4, in ``data.language``, with the facts and the proof attached as
    ``disposal-certificate.json`` and their compact form as a QR code. NumberInSlip when a
    text of the certificate looks like an individual number (one typed into a name or a
    reason by mistake): no certificate ever carries one."""
    refuse_numbers(data)
    values = facts(data)
    qr = compact(values, proof)
    attachment = {"data": values, "proof": proof, "language": data.language, "qr": qr}
    with translation.override(data.language):
        drawn = _render(data, proof, qr)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(drawn)))
    body = json.dumps(attachment, ensure_ascii=False, sort_keys=True, indent=1)
    writer.add_attachment(ATTACHMENT, body.encode("utf-8"))
    writer.write(out)


# --- verification, offline -----------------------------------------------------------------------


def _attachment(pdf: bytes) -> tuple[dict[str, Any] | None, str]:
    """The attached JSON and the text of the pages; None with the reason in the text when
    there is none."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        found = reader.attachments.get(ATTACHMENT)
        text = "".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, OSError, KeyError):
        return None, _("the file is not a readable PDF")
    if not found:
        return None, _("the PDF carries no disposal certificate proof (%(name)s)") % {
            "name": ATTACHMENT
        }
    try:
        values = json.loads(found[0].decode("utf-8"))
    except (ValueError, UnicodeError):
        values = None
    if not isinstance(values, dict) or not isinstance(values.get("data"), dict):
        return None, _("the attached proof is not readable")
    if not isinstance(values.get("proof"), dict):
        return None, _("the attached proof is not readable")
    return values, text


def _checked_checkpoint(values: Any) -> Checkpoint | None:
    names = ("seq", "entry_hash", "created_at", "public_key", "signature")
    if not isinstance(values, dict) or sorted(values) != sorted(names):
        return None
    if type(values["seq"]) is not int or not isinstance(values["created_at"], str):
        return None
    decoded = {name: _hex(values[name]) for name in _HEX_FIELDS}
    if any(value is None for value in decoded.values()):
        return None
    return Checkpoint(**{**values, **decoded})


def _chain_problems(entries: Any, checkpoint: Checkpoint) -> Iterator[str]:
    """Each entry's hash recomputed from its fields, each linked to the one before, the last
    being the checkpoint's."""
    if not isinstance(entries, list) or not entries:
        yield _("the proof holds no audit entry")
        return
    prev: str | None = None
    expected_seq: int | None = None
    for values in entries:
        seq = values.get("seq") if isinstance(values, dict) else None
        if not isinstance(values, dict) or type(seq) is not int:
            yield _("the proof holds an entry that is not readable")
            return
        if expected_seq is not None and seq != expected_seq:
            yield _("entry #%(seq)d is missing from the proof") % {"seq": expected_seq}
            return
        claimed_prev, claimed = _hex(values.get("prev_hash")), _hex(values.get("entry_hash"))
        if prev is not None and claimed_prev != prev:
            yield _("entry #%(seq)d does not follow the entry before it") % {"seq": seq}
            return
        try:
            at = datetime.fromisoformat(values["created_at"])
            digest = entry_hash(str(claimed_prev), hashed_fields({**values, "created_at": at}))
        except (KeyError, TypeError, ValueError, AttributeError, UnicodeError):
            digest = None
        if digest is None or digest != claimed:
            yield _("audit entry #%(seq)d was altered") % {"seq": seq}
            return
        prev, expected_seq = digest, seq + 1
    if entries[-1]["seq"] != checkpoint.seq or prev != checkpoint.entry_hash:
        yield _("the signed checkpoint (#%(seq)d) is not the end of the proof's entries") % {
            "seq": checkpoint.seq
        }


def _certify_problems(entries: Any, values: dict[str, Any]) -> Iterator[str]:
    """The facts' digest must be the one the first entry, ``disposal.certify``, records."""
    first = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(first, dict) or first.get("action") != Action.DISPOSAL_CERTIFY.value:
        yield _("the proof does not start with a disposal.certify audit entry")
        return
    detail = first.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    if detail.get("certificate") != values.get("number"):
        yield _("the audit entry certifies another certificate (%(other)s)") % {
            "other": detail.get("certificate")
        }
    if detail.get("digest") != _digest(values):
        yield _(
            "the certified facts differ from those recorded in the audit log "
            "(a name, a date or another fact was changed)"
        )
    if first.get("company_id") != values.get("company_id"):
        yield _("the audit entry is of another company")


def _page_problems(data: CertificateData, text: str) -> Iterator[str]:
    """The certificate number, the date of disposal and each subject's row must be on a page
    as the attachment has them (an edited page with a genuine attachment). Looked for in the
    certificate's language; told in the active one."""
    printed = re.sub(r"\s+", "", text)

    def shown(*texts: str) -> bool:
        return all(re.sub(r"\s+", "", t) in printed for t in texts)

    with translation.override(data.language):
        number_shown = shown(data.number)
        date_shown = shown(_time(data.disposed_at))
        missing = [s for s in data.subjects if not shown(*_subject_cells(s)[:3])]
    if not number_shown:
        yield _("the page does not show the certificate number %(number)s") % {
            "number": data.number
        }
    if not date_shown:
        yield _("the page does not show the date of disposal as the attached proof does")
    for subject in missing:
        yield _(
            "the page does not show %(name)s (employee code %(code)s) as the attached proof does"
        ) % {"name": subject.name, "code": subject.employee_code}


def _key_problems(checkpoint: Checkpoint, given: Ed25519PublicKey | None) -> tuple[list[str], str]:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.public_key))
    except ValueError:
        return [_("the proof's public key is not an Ed25519 key")], ""
    fingerprint = witness.fingerprint(key)
    problems = []
    if given is not None and public_key_hex(given) != checkpoint.public_key:
        problems.append(
            _(
                "the proof was signed by another installation (key %(proof)s, not the key "
                "given, %(given)s)"
            )
            % {"proof": fingerprint, "given": witness.fingerprint(given)}
        )
    elif not checkpoint.signature_holds(key):
        problems.append(_("the signature of the audit checkpoint does not hold (forged)"))
    return problems, fingerprint


def verify_certificate(pdf: bytes, public_key: Ed25519PublicKey | None = None) -> Verdict:
    """Offline, without a database. Without ``public_key`` the signature is checked against
    the key the proof names, and ``Verdict.fingerprint`` must be compared by hand with the
    installation's (``mnvault audit public-key``). Problems are in the active language."""
    attached, text = _attachment(pdf)
    if attached is None:
        return Verdict(False, [text])
    values, proof = attached["data"], attached["proof"]
    number = str(values.get("number", ""))
    checkpoint = _checked_checkpoint(proof.get("checkpoint"))
    if checkpoint is None or proof.get("format") != PROOF_FORMAT:
        return Verdict(False, [_("the proof holds no readable signed checkpoint")], number)
    problems, fingerprint = _key_problems(checkpoint, public_key)
    entries = proof.get("entries")
    problems += list(_chain_problems(entries, checkpoint))
    problems += list(_certify_problems(entries, values))
    try:
        data = data_from_facts(values, str(attached.get("language", "ja")))
    except ValueError:
        problems.append(_("the certified facts are not readable"))
    else:
        problems += list(_page_problems(data, text))
    try:
        qr = compact(values, {**proof, "key_fingerprint": fingerprint})
    except (KeyError, TypeError, ValueError):
        qr = None
    if attached.get("qr") != qr:
        problems.append(_("the QR code's text does not match the proof"))
    return Verdict(not problems, problems, number, fingerprint)
