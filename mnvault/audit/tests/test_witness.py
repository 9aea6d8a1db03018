"""Witnesses: signed checkpoints kept off the server (a second file, e-mailed digests), and the
chain checked against them — so that even a holder of the signing key cannot rewrite history
before the last witnessed checkpoint unseen (docs/architecture.md, "Audit log")."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import translation

from mnvault.audit import witness
from mnvault.audit.checkpoints import Checkpoint, public_key, public_key_hex, write_checkpoint
from mnvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from mnvault.audit.tests.tampering import (
    CHAIN_LENGTH,
    K,
    append,
    real_mac_key,
    resign_everything,
    rewrite_consistently,
)
from mnvault.audit.verify import verify
from mnvault.audit.witness import Witnessed
from mnvault.conftest import ALL_DATABASES
from mnvault.domain import numbers
from mnvault.scheduler import heartbeat

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def chain() -> None:
    append(CHAIN_LENGTH)


@pytest.fixture
def witness_file(settings, tmp_path) -> Path:
    path = tmp_path / "elsewhere" / "witness.jsonl"
    settings.MNVAULT_CHECKPOINT_WITNESS_FILE = path
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check(path: Path):
    result = verify()
    assert result.ok, result.message
    return witness.check_chain(witness.read_witnesses(path), entries=result.entries, source="w")


def rewrite_and_resign(settings) -> None:
    """The insider's best: entry K rewritten, every hash after it recomputed, every checkpoint
    in the database and the checkpoint file removed, and the new head signed with the real
    key (they hold it too). The chain and its own checkpoints then hold again."""
    AuditEntry.objects.filter(seq=K).update(action="test.rewritten")
    rewrite_consistently(K, mac_key=real_mac_key())
    resign_everything()
    assert verify().ok


# --- the witness file (the second location) --------------------------------------------------


def test_each_round_copies_a_new_checkpoint_to_the_witness_file(chain, witness_file):
    first = witness.sign_and_witness()
    assert first is not None and first.seq == CHAIN_LENGTH
    assert lines(witness_file) == [json.loads(json.dumps(first.__dict__))]
    assert oct(witness_file.stat().st_mode & 0o777) == "0o600"

    assert witness.sign_and_witness() == first  # the head did not move: nothing new
    assert len(lines(witness_file)) == 1

    append(2, start=CHAIN_LENGTH)
    second = witness.sign_and_witness()
    assert second is not None and second.seq == CHAIN_LENGTH + 2
    assert [line["seq"] for line in lines(witness_file)] == [CHAIN_LENGTH, CHAIN_LENGTH + 2]


def test_a_checkpoint_signed_elsewhere_is_witnessed_in_the_next_round(chain, witness_file):
    """`mnvault audit checkpoint`, or a round whose witness copy failed: caught up later."""
    write_checkpoint()
    assert not witness_file.exists()
    witness.sign_and_witness()
    assert [line["seq"] for line in lines(witness_file)] == [CHAIN_LENGTH]


def test_without_a_witness_file_only_the_checkpoint_is_written(chain, settings):
    assert settings.MNVAULT_CHECKPOINT_WITNESS_FILE is None
    assert witness.sign_and_witness() is not None
    assert AuditCheckpoint.objects.count() == 1


def test_an_empty_log_has_nothing_to_witness(witness_file):
    assert witness.sign_and_witness() is None
    assert not witness_file.exists()


def test_an_unwritable_witness_file_fails_the_round_but_keeps_the_checkpoint(
    chain, settings, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    settings.MNVAULT_CHECKPOINT_WITNESS_FILE = blocker / "witness.jsonl"
    heartbeat.run(heartbeat.CHECKPOINTS, witness.sign_and_witness)
    assert heartbeat.health(heartbeat.CHECKPOINTS).problem == "failed"
    assert AuditCheckpoint.objects.count() == 1
    assert settings.MNVAULT_CHECKPOINT_FILE.exists()


def test_a_forged_checkpoint_in_the_database_is_never_witnessed(chain, witness_file):
    """A row that claims the head is signed, with a signature that does not hold: nothing
    new is signed (the head looks signed), and the forged row is not sent out either — the
    round fails, so /healthz and the dashboard say so."""
    write_checkpoint()
    AuditCheckpoint.objects.update(signature="00" * 64)
    with pytest.raises(witness.WitnessError, match="signature does not hold"):
        witness.sign_and_witness()
    assert not witness_file.exists()
    heartbeat.run(heartbeat.CHECKPOINTS, witness.sign_and_witness)
    assert heartbeat.health(heartbeat.CHECKPOINTS).problem == "failed"


# --- the e-mailed digest ---------------------------------------------------------------------


def test_a_digest_reads_back_as_the_checkpoint(chain):
    checkpoint = write_checkpoint()
    assert checkpoint is not None
    found = witness.parse_witnesses(witness.digest(checkpoint).splitlines(), "mail.txt")
    assert found == [("mail.txt line 1", Witnessed.of(checkpoint))]
    assert found[0][1] is not None and found[0][1].problem(public_key()) == ""


def test_a_digest_never_holds_a_number_even_when_the_hex_would(rng):
    """A hex hash can hold twelve digits that validate as an individual number; the digest
    writes hashes in base64, so the e-mail check never has to refuse it."""
    number = numbers.generate_fake(rng)
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint(
        seq=1,
        entry_hash=number + "ab" * 26,
        created_at="2026-11-30T00:00:00.000000+00:00",
        public_key=public_key_hex(key.public_key()),
        signature=(number + "cd" * 58),
    )
    assert numbers.holds_number(checkpoint.entry_hash)
    assert not numbers.holds_number(witness.digest(checkpoint))


def test_digests_are_found_in_a_saved_e_mail_quoted_or_not(chain):
    first = write_checkpoint()
    append(1, start=CHAIN_LENGTH)
    second = write_checkpoint()
    assert first is not None and second is not None
    quoted = "\n".join(f"> {line}" for line in witness.digest(second).splitlines())
    text = f"Subject: checkpoint\n\nKeep this.\n\n{witness.digest(first)}\n\nOn Monday:\n{quoted}\n"
    found = witness.parse_witnesses(text.splitlines(), "mail.txt")
    assert [w for _, w in found] == [Witnessed.of(first), Witnessed.of(second)]
    assert [where for where, _ in found] == ["mail.txt line 5", "mail.txt line 14"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text.replace("seq: 20", "seq: 19"), id="seq changed"),
        pytest.param(lambda text: text.rsplit("\n", 1)[0], id="cut before its end"),
        pytest.param(
            lambda text: "\n".join(x for x in text.splitlines() if "signature" not in x),
            id="a field missing",
        ),
        pytest.param(lambda text: text.replace("entry_hash: ", "entry_hash: x"), id="not base64"),
        pytest.param(
            lambda text: text.replace("created_at:", "note: hello\ncreated_at:"), id="extra field"
        ),
    ],
)
def test_a_damaged_digest_is_reported_not_skipped(chain, damage):
    checkpoint = write_checkpoint()
    assert checkpoint is not None
    text = damage(witness.digest(checkpoint))
    found = witness.parse_witnesses(text.splitlines(), "mail.txt")
    assert len(found) == 1
    where, witnessed = found[0]
    result = witness.check_chain(found, entries=CHAIN_LENGTH, source="mail.txt")
    assert not result.ok
    assert where in result.message
    if witnessed is not None:  # read, but the signature no longer holds
        assert "signature does not hold" in result.message


# --- the chain against its witnesses ---------------------------------------------------------


def test_an_intact_chain_matches_its_witnesses(chain, witness_file):
    witness.sign_and_witness()
    append(3, start=CHAIN_LENGTH)
    witness.sign_and_witness()
    result = check(witness_file)
    assert result.ok, result.message
    assert result.message.startswith(
        f"OK: 2 witnessed checkpoints in w match the chain (the latest: #{CHAIN_LENGTH + 3}"
    )


def test_a_rewrite_re_signed_with_the_real_key_is_caught_by_the_witness_file(
    chain, witness_file, settings
):
    witness.sign_and_witness()
    rewrite_and_resign(settings)
    result = check(witness_file)
    assert not result.ok
    assert result.first_bad_seq == CHAIN_LENGTH
    assert (
        f"entry #{CHAIN_LENGTH} differs from witness.jsonl line 1: the chain was rewritten"
        in result.message
    )


def test_a_rewrite_re_signed_with_the_real_key_is_caught_by_an_e_mailed_digest(
    chain, settings, tmp_path
):
    checkpoint = witness.current_checkpoint()
    assert checkpoint is not None
    saved = tmp_path / "mail.txt"
    saved.write_text(f"Keep this e-mail.\n\n{witness.digest(checkpoint)}\n", encoding="utf-8")
    assert check(saved).ok
    rewrite_and_resign(settings)
    result = check(saved)
    assert not result.ok
    assert "differs from mail.txt line 3" in result.message


def test_a_cut_tail_is_caught_by_a_witness(chain, witness_file, settings):
    append(5, start=CHAIN_LENGTH)
    witness.sign_and_witness()
    AuditEntry.objects.filter(seq__gt=CHAIN_LENGTH).delete()
    last = AuditEntry.objects.latest("seq")
    AuditHead.objects.update(seq=last.seq, entry_hash=last.entry_hash)
    AuditCheckpoint.objects.all().delete()
    settings.MNVAULT_CHECKPOINT_FILE.unlink()
    write_checkpoint()  # the shorter chain signed again, with the real key
    result = check(witness_file)
    assert not result.ok
    assert result.first_bad_seq == CHAIN_LENGTH + 5
    assert f"entries #{CHAIN_LENGTH + 1} to #{CHAIN_LENGTH + 5} are missing" in result.message


def test_a_witness_signed_with_another_key_fails(chain, tmp_path):
    other = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint(
        seq=CHAIN_LENGTH,
        entry_hash=AuditEntry.objects.get(seq=CHAIN_LENGTH).entry_hash,
        created_at="2026-11-30T00:00:00.000000+00:00",
        public_key=public_key_hex(other.public_key()),
        signature="",
    )
    signed = replace(checkpoint, signature=other.sign(checkpoint.message()).hex())
    path = tmp_path / "w.txt"
    path.write_text(witness.digest(signed) + "\n", encoding="utf-8")
    result = check(path)
    assert not result.ok
    assert "w.txt line 1: signed with another key" in result.message
    assert witness.fingerprint(public_key()) in result.message


def test_a_witness_with_a_forged_signature_fails(chain, witness_file):
    witness.sign_and_witness()
    [line] = lines(witness_file)
    witness_file.write_text(json.dumps({**line, "signature": "00" * 64}) + "\n", "utf-8")
    result = check(witness_file)
    assert not result.ok and "witness.jsonl line 1: the signature does not hold" in result.message


def test_a_file_without_any_checkpoint_fails(chain, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("just an e-mail, the digest was not pasted\n", encoding="utf-8")
    result = check(path)
    assert not result.ok and "holds no checkpoint" in result.message


# --- the command line ------------------------------------------------------------------------


def test_cli_verify_with_witnesses(chain, witness_file, settings, tmp_path):
    checkpoint = witness.sign_and_witness()
    assert checkpoint is not None
    mail = tmp_path / "mail.txt"
    mail.write_text(witness.digest(checkpoint) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command(
        "audit", "verify", "--witness", str(witness_file), "--witness", str(mail), stdout=out
    )
    assert f"OK: {CHAIN_LENGTH} entries" in out.getvalue()
    assert f"OK: 1 witnessed checkpoint in {witness_file} matches the chain" in out.getvalue()
    assert f"OK: 1 witnessed checkpoint in {mail} matches the chain" in out.getvalue()

    rewrite_and_resign(settings)
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", "--witness", str(mail), stdout=io.StringIO(), stderr=err)
    assert exited.value.code == 1
    assert f"FAILED: entry #{CHAIN_LENGTH} differs from mail.txt line 1" in err.getvalue()


def test_cli_verify_names_a_witness_file_it_cannot_read(chain, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.txt"):
        call_command("audit", "verify", "--witness", str(tmp_path / "missing.txt"))


def test_cli_prints_the_public_key_and_its_fingerprint():
    out = io.StringIO()
    call_command("audit", "public-key", stdout=out)
    text = out.getvalue()
    key = public_key()
    assert f"Fingerprint: {witness.fingerprint(key)}" in text
    assert f"Hex: {public_key_hex(key)}" in text
    assert "-----BEGIN PUBLIC KEY-----" in text
    assert public_key_hex(witness.load_public_key(text)) == public_key_hex(key)
    hex_only = public_key_hex(witness.load_public_key(public_key_hex(key)))
    assert hex_only == public_key_hex(key)


@pytest.mark.parametrize("text", ["", "no key here", "ab" * 31, "-----BEGIN PUBLIC KEY-----\nx"])
def test_text_without_a_key_is_refused(text):
    with pytest.raises(ValueError):
        witness.load_public_key(text)


def test_a_witnessed_seq_is_random_access(chain, tmp_path):
    """Witnesses need not be in order nor complete: any subset of the checkpoints holds."""
    made = []
    for i in range(3):
        append(1, start=CHAIN_LENGTH + i)
        checkpoint = write_checkpoint()
        assert checkpoint is not None
        made.append(checkpoint)
    random.Random(1).shuffle(made)
    path = tmp_path / "mixed.txt"
    path.write_text("\n\n".join(witness.digest(c) for c in made[:2]), encoding="utf-8")
    assert check(path).ok
