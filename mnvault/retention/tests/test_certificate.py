"""The disposal certificate: made from a real ``disposal.certify`` audit entry and a signed
checkpoint, verified without the database, and every kind of forgery the issue names caught:
an edited name, an edited date, a forged signature, a proof of another installation."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import translation
from pypdf import PdfReader, PdfWriter

from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import Checkpoint, public_key, public_key_hex, write_checkpoint
from mnvault.audit.log import record
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.audit.tests.tampering import append
from mnvault.cli.tests.runner import ENGLISH, Installation
from mnvault.conftest import ALL_DATABASES
from mnvault.domain.numbers import holds_number
from mnvault.retention.certificate import (
    ATTACHMENT,
    CRYPTO_SHREDDING,
    CertificateData,
    Subject,
    build_proof,
    certificate_pdf,
    compact,
    facts_digest,
    verify_certificate,
)
from mnvault.usage.pdf.layout import NumberInSlip
from mnvault.vault import keys
from mnvault.vault.keys import KeyFileProvider, KeyMaterial

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def certificate_data(**changes) -> CertificateData:
    """Generated people of a generated company: nothing here is anyone's."""
    data = CertificateData(
        number="C-2026-000012",
        company_name="株式会社サンプル商事",
        company_id=1,
        subjects=(
            Subject(
                person_id=101,
                name="山田 太郎",
                employee_code="E-0042",
                birth_date=date(1985, 4, 1),
                destroyed=("number", "dependent_numbers", "document_photos"),
            ),
            Subject(
                person_id=102,
                name="佐藤 花子",
                employee_code="E-0057",
                birth_date=date(1990, 12, 24),
                destroyed=("number",),
                early_reason="本人の申出により (at the person's request)",
            ),
        ),
        method=CRYPTO_SHREDDING,
        proposer="鈴木 一郎",
        approver="高橋 次郎",
        proposed_at=datetime(2026, 3, 30, 1, 15, tzinfo=UTC),
        approved_at=datetime(2026, 3, 31, 0, 5, tzinfo=UTC),
        disposed_at=datetime(2026, 3, 31, 0, 5, 12, tzinfo=UTC),
        key_backups_expire_on=date(2026, 6, 29),
    )
    return replace(data, **changes)


def certify(data: CertificateData) -> int:
    """As the disposal workflow does: the certify entry with the facts' digest."""
    with transaction.atomic():
        entry = record(
            actor=Actor.system("test"),
            action=Action.DISPOSAL_CERTIFY,
            company_id=data.company_id,
            detail={"certificate": data.number, "digest": facts_digest(data)},
        )
    return entry.seq


def pdf_of(data: CertificateData, proof: dict) -> bytes:
    out = io.BytesIO()
    certificate_pdf(data, proof, out)
    return out.getvalue()


@pytest.fixture
def issued() -> tuple[CertificateData, dict, bytes]:
    """A certificate whose certify entry sits in a chain of other activity."""
    append(3)
    data = certificate_data()
    seq = certify(data)
    append(2, start=3)
    proof = build_proof(certificate_entry_seq=seq)
    return data, proof, pdf_of(data, proof)


def attached(pdf: bytes) -> dict:
    return json.loads(PdfReader(io.BytesIO(pdf)).attachments[ATTACHMENT][0])


def with_attachment(pdf: bytes, values: dict) -> bytes:
    """The pages of ``pdf`` with ``values`` attached instead of what it carried."""
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        writer.add_page(page)
    writer.add_attachment(ATTACHMENT, json.dumps(values, ensure_ascii=False).encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- genuine -------------------------------------------------------------------------------------


def test_it_accepts_a_genuine_certificate(issued):
    _data, proof, pdf = issued
    verdict = verify_certificate(pdf, public_key())
    assert verdict.ok, verdict.problems
    assert verdict.number == "C-2026-000012"
    assert verdict.fingerprint == witness.fingerprint(public_key())
    # The proof runs from the certify entry to a checkpoint covering the later entries too.
    assert [e["seq"] for e in proof["entries"]] == [4, 5, 6]
    assert proof["checkpoint"]["seq"] == 6


def test_without_a_key_it_checks_the_proofs_key_and_reports_its_fingerprint(issued):
    _data, _proof, pdf = issued
    verdict = verify_certificate(pdf)
    assert verdict.ok, verdict.problems
    assert verdict.fingerprint == witness.fingerprint(public_key())


def test_the_english_certificate_has_the_same_digest_and_verifies():
    data = certificate_data(language="en")
    assert facts_digest(data) == facts_digest(certificate_data())
    pdf = pdf_of(data, build_proof(certificate_entry_seq=certify(data)))
    text = page_text(pdf)
    assert "Certificate of disposal" in text
    assert "1985-04-01" in text
    assert verify_certificate(pdf, public_key()).ok


def test_the_japanese_certificate_speaks_japanese(issued):
    _data, _proof, pdf = issued
    text = re.sub(r"\s+", "", page_text(pdf))
    for words in ("削除証明書", "山田太郎", "1985年4月1日", "本人確認書類", "2026年6月29日"):
        assert words in text, words


def test_the_proof_uses_a_checkpoint_that_already_covers_the_entry():
    data = certificate_data()
    seq = certify(data)
    append(1)
    covering = write_checkpoint()
    append(1, start=1)
    proof = build_proof(certificate_entry_seq=seq)
    assert covering is not None and proof["checkpoint"]["seq"] == covering.seq == seq + 1
    assert AuditCheckpoint.objects.count() == 1  # none signed for the proof


def test_a_proof_is_only_built_from_a_certify_entry():
    append(1)
    with pytest.raises(ValueError, match=r"not a disposal\.certify entry"):
        build_proof(certificate_entry_seq=AuditEntry.objects.get().seq)


# --- forgeries -----------------------------------------------------------------------------------


def test_it_rejects_an_edited_name(issued):
    data, proof, _pdf = issued
    edited = replace(data.subjects[0], name="山田 次郎")
    forged = pdf_of(replace(data, subjects=(edited, *data.subjects[1:])), proof)
    verdict = verify_certificate(forged, public_key())
    assert not verdict.ok
    assert any("certified facts differ" in p for p in verdict.problems), verdict.problems


def test_it_rejects_an_edited_page_with_the_genuine_proof_attached(issued):
    data, proof, pdf = issued
    edited = replace(data.subjects[1], name="佐藤 春子")
    page = pdf_of(replace(data, subjects=(data.subjects[0], edited)), proof)
    verdict = verify_certificate(with_attachment(page, attached(pdf)), public_key())
    assert not verdict.ok
    assert verdict.problems == [
        "the page does not show 佐藤 花子 (employee code E-0057) as the attached proof does"
    ]


def test_it_rejects_an_edited_date(issued):
    data, proof, pdf = issued
    values = attached(pdf)
    values["data"]["disposed_at"] = "2026-03-20T00:05:12.000000+00:00"
    verdict = verify_certificate(with_attachment(pdf, values), public_key())
    assert not verdict.ok
    assert any("certified facts differ" in p for p in verdict.problems), verdict.problems
    assert any("date of disposal" in p for p in verdict.problems), verdict.problems

    birth = replace(data.subjects[0], birth_date=date(1985, 4, 2))
    forged = pdf_of(replace(data, subjects=(birth, data.subjects[1])), proof)
    assert not verify_certificate(forged, public_key()).ok


def test_it_rejects_a_forged_signature(issued):
    _data, _proof, pdf = issued
    values = attached(pdf)
    signature = bytearray(base64.b64decode(values["proof"]["checkpoint"]["signature"]))
    signature[-1] ^= 1
    values["proof"]["checkpoint"]["signature"] = base64.b64encode(signature).decode()
    for key in (public_key(), None):
        verdict = verify_certificate(with_attachment(pdf, values), key)
        assert not verdict.ok
        assert "the signature of the audit checkpoint does not hold (forged)" in verdict.problems


def test_it_rejects_an_altered_audit_entry_in_the_proof(issued):
    _data, _proof, pdf = issued
    values = attached(pdf)
    values["proof"]["entries"][1]["actor_label"] = "someone else"
    verdict = verify_certificate(with_attachment(pdf, values), public_key())
    assert not verdict.ok
    assert "audit entry #5 was altered" in verdict.problems


def test_it_rejects_a_proof_resigned_with_a_key_of_ones_own(issued):
    """A forger who rebuilds the chain and signs it with their own key: the signature holds
    under the proof's key, so only the key given (or the fingerprint) tells."""
    _data, _proof, pdf = issued
    values = attached(pdf)
    forger = Ed25519PrivateKey.generate()
    checkpoint = values["proof"]["checkpoint"]
    head = base64.b64decode(checkpoint["entry_hash"]).hex()
    message = Checkpoint(checkpoint["seq"], head, checkpoint["created_at"], "", "").message()
    raw_key = bytes.fromhex(public_key_hex(forger.public_key()))
    checkpoint.update(
        public_key=base64.b64encode(raw_key).decode(),
        signature=base64.b64encode(forger.sign(message)).decode(),
    )
    values["proof"]["key_fingerprint"] = witness.fingerprint(forger.public_key())
    values["qr"] = compact(values["data"], values["proof"])
    forged = with_attachment(pdf, values)
    alone = verify_certificate(forged)
    assert alone.ok, alone.problems  # consistent on its own...
    assert alone.fingerprint != witness.fingerprint(public_key())  # ...but not our key
    verdict = verify_certificate(forged, public_key())
    assert not verdict.ok
    assert verdict.problems[0].startswith("the proof was signed by another installation")


def test_it_rejects_a_proof_from_another_installation(issued, settings):
    _data, _proof, pdf = issued
    KeyFileProvider(settings.MNVAULT_KEY_FILE).save(KeyMaterial.generate())
    keys.forget()  # this process is now another installation, with a key of its own
    other = public_key()
    assert verify_certificate(pdf).ok  # the proof holds under the key it names...
    verdict = verify_certificate(pdf, other)  # ...which is not this installation's
    assert not verdict.ok
    assert verdict.problems == [
        f"the proof was signed by another installation (key {verdict.fingerprint}, not the "
        f"key given, {witness.fingerprint(other)})"
    ]


def test_it_rejects_a_file_without_a_proof(issued):
    _data, _proof, pdf = issued
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    verdict = verify_certificate(out.getvalue())
    assert verdict.problems == [
        "the PDF carries no disposal certificate proof (disposal-certificate.json)"
    ]
    assert verify_certificate(b"not a pdf").problems == ["the file is not a readable PDF"]


# --- no number -----------------------------------------------------------------------------------


def test_the_pdf_holds_no_individual_number(issued, tmp_path):
    _data, _proof, pdf = issued
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    poppler = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    for text in (page_text(pdf), poppler, json.dumps(attached(pdf), ensure_ascii=False)):
        assert "C-2026-000012" in text
        assert not re.search(r"\d{12}", text)
        assert not holds_number(text)


def test_a_number_typed_into_a_name_stops_the_certificate(issued, make_number):
    data, proof, _pdf = issued
    careless = replace(data.subjects[0], early_reason=f"番号 {make_number()} の本人")
    with pytest.raises(NumberInSlip):
        pdf_of(replace(data, subjects=(careless,)), proof)


# --- many people -------------------------------------------------------------------------


def test_a_batch_runs_over_several_pages_and_still_verifies():
    people = tuple(
        Subject(i, f"従業員 {i:03d}", f"E-{i:04d}", date(1970 + i % 30, 1 + i % 12, 1), ("number",))
        for i in range(1, 81)
    )
    data = certificate_data(subjects=people)
    pdf = pdf_of(data, build_proof(certificate_entry_seq=certify(data)))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    assert verify_certificate(pdf, public_key()).ok


# --- the command, on a machine without an installation -----------------------------------------


@pytest.fixture
def holder(issued, tmp_path) -> Installation:
    """Whoever was handed the certificate and the installation's key, as ``mnvault audit
    public-key`` prints it: no installation of their own."""
    _data, _proof, pdf = issued
    someone = Installation(tmp_path / "holder")
    someone.root.mkdir()
    (someone.root / "certificate.pdf").write_bytes(pdf)
    key = public_key()
    printed = f"Fingerprint: {witness.fingerprint(key)}\nHex: {public_key_hex(key)}\n"
    (someone.root / "key.txt").write_text(printed + witness.public_key_pem(key), "utf-8")
    return someone


def test_the_command_verifies_a_copied_certificate_with_the_key(holder):
    result = holder.run(
        "certificate", "verify", "certificate.pdf", "--public-key", "key.txt", env=ENGLISH
    )
    assert "OK: certificate C-2026-000012 is genuine" in result.out, result.describe()
    assert f"Signed with the key given, {witness.fingerprint(public_key())}." in result.out
    assert not holder.data.exists(), "verifying must not create an installation"


def test_the_command_without_a_key_asks_to_compare_the_fingerprint(holder):
    result = holder.run("certificate", "verify", "certificate.pdf", env=ENGLISH)
    assert witness.fingerprint(public_key()) in result.out
    assert "compare this fingerprint" in result.out, result.describe()


def test_the_command_fails_on_a_forged_certificate_in_japanese(holder):
    values = attached((holder.root / "certificate.pdf").read_bytes())
    values["data"]["subjects"][0]["name"] = "山田 次郎"
    forged = with_attachment((holder.root / "certificate.pdf").read_bytes(), values)
    (holder.root / "forged.pdf").write_bytes(forged)
    args = ("certificate", "verify", "forged.pdf", "--public-key", "key.txt")
    english = holder.run(*args, env=ENGLISH, expect=1)
    assert "FAILED: the certified facts differ from those recorded" in english.err
    japanese = holder.run(*args, expect=1)
    assert "失敗" in japanese.err and "監査ログ" in japanese.err, japanese.describe()


def test_the_command_fails_with_the_key_of_another_installation(holder):
    other = Ed25519PrivateKey.generate().public_key()
    (holder.root / "other.txt").write_text(witness.public_key_pem(other), "utf-8")
    args = ("certificate", "verify", "certificate.pdf", "--public-key", "other.txt")
    result = holder.run(*args, env=ENGLISH, expect=1)
    assert "FAILED: the proof was signed by another installation" in result.err
    bad = holder.run("certificate", "verify", "certificate.pdf", "--public-key", "zz", expect=1)
    assert "Ed25519" in bad.err, bad.describe()
