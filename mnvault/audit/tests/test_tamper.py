"""Tampering with the audit log directly in the database, and ``verify`` naming the first entry
that does not hold (docs/architecture.md, "Audit log").

Several tests here give the attacker the signing key for the MACs (``rewrite_consistently``
with ``mac_key``), so that what they test is the chain, the head or the checkpoints on their
own; ``test_tamper_access.py`` goes through what each level of access can do
(docs/threat-model.md)."""

from __future__ import annotations

import io
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import translation

from mnvault.audit import signing
from mnvault.audit import verify as verify_module
from mnvault.audit.checkpoints import Checkpoint, public_key_hex, write_checkpoint
from mnvault.audit.log import entry_hash, hashed_fields
from mnvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead, Outcome
from mnvault.audit.tests.tampering import (
    CHAIN_LENGTH,
    K,
    append,
    checkpoint_lines,
    failed,
    real_mac_key,
    renumber,
    rewrite_consistently,
    set_head_to_last,
    verify_in_english,
)
from mnvault.audit.verify import verify
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True, params=[1, 3, 4], ids=lambda n: f"{n}-spans")
def spans(request, monkeypatch) -> int:
    """Every tamper test runs on the whole chain at once and split into stretches checked
    separately and joined (as ``verify`` does with one process per core on long chains): with
    3 stretches entry K opens the second one, so tampering at a seam is covered. Here the
    stretches run in this process; the bench and the CLI test run them in processes."""
    monkeypatch.setattr(verify_module, "default_workers", lambda entries: request.param)
    return request.param


@pytest.fixture
def chain() -> list[AuditEntry]:
    append(CHAIN_LENGTH)
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, CHAIN_LENGTH + 1))
    assert verify().ok
    return entries


# --- the chain alone ---------------------------------------------------------------------------


def test_intact_chain_verifies(chain):
    result = verify_in_english()
    assert result.ok, result.message
    assert (result.entries, result.first_bad_seq) == (CHAIN_LENGTH, None)
    assert result.message.startswith(f"OK: {CHAIN_LENGTH} entries")


@pytest.mark.parametrize(
    "change",
    [
        {"action": "number.reveal"},
        {"detail": {"i": K - 1, "note": "テスト", "rows": [K - 1, str(K)]}},
        {"outcome": Outcome.OK},  # entry 7 was refused
        {"created_at": datetime(2020, 1, 1, tzinfo=UTC)},
        {"person_id": None},
        {"reason": ""},
        {"actor_label": "someone else"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_edited_field_is_caught(chain, change):
    AuditEntry.objects.filter(seq=K).update(**change)
    failed(K, f"#{K}", "altered")


def test_created_at_moved_by_one_microsecond_is_caught(chain):
    AuditEntry.objects.filter(seq=K).update(created_at=F("created_at") + timedelta(microseconds=1))
    failed(K, "altered")


def test_edit_by_raw_sql_is_caught(chain):
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET action = %s, outcome = %s WHERE seq = %s", ["x", "ok", K]
        )
    failed(K, f"#{K}")


def test_edited_hash_of_the_last_entry_is_caught(chain):
    AuditEntry.objects.filter(seq=CHAIN_LENGTH).update(entry_hash="0" * 64)
    failed(CHAIN_LENGTH, f"#{CHAIN_LENGTH}")


def test_edited_prev_hash_is_caught(chain):
    AuditEntry.objects.filter(seq=K).update(prev_hash=chain[K - 1].entry_hash)
    failed(K, "does not follow")


def test_deleted_entry_in_the_middle_is_caught(chain):
    AuditEntry.objects.filter(seq=K).delete()
    failed(K, f"#{K} is missing")


def test_deleted_first_entry_is_caught(chain):
    AuditEntry.objects.filter(seq=1).delete()
    failed(1, "#1 is missing")


def test_deleted_entry_by_raw_sql_with_renumbering_is_caught(chain):
    """Closing the gap left by a deletion still breaks the link to the entry before."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE seq = %s", [K])
    for seq in range(K + 1, CHAIN_LENGTH + 1):
        renumber(seq, seq - 1)
    set_head_to_last()
    failed(K, "does not follow")


def test_swapped_entries_are_caught(chain):
    renumber(K, -1)
    renumber(K + 1, K)
    renumber(-1, K + 1)
    failed(K, "reordered")


def test_forged_entry_inserted_in_the_middle_is_caught(chain):
    """The forger makes the entry itself hold (right prev_hash, hash and, holding the signing
    key, MAC) and shifts the rest; the entry that was pushed along no longer follows it."""
    for seq in range(CHAIN_LENGTH, K - 1, -1):  # one by one: seq is unique
        renumber(seq, seq + 1)
    forged = AuditEntry(
        seq=K,
        created_at=chain[K - 1].created_at,
        actor_kind="system",
        actor_label="test",
        action="test.forged",
        outcome=Outcome.OK,
        detail={"forged": True},
        prev_hash=chain[K - 2].entry_hash,
    )
    forged.entry_hash = entry_hash(forged.prev_hash, hashed_fields(forged.__dict__))
    forged.mac = signing.mac(real_mac_key(), K, forged.entry_hash)
    forged.save(force_insert=True)
    set_head_to_last()

    failed(K + 1, f"#{K + 1} does not follow")


def test_forged_entry_at_the_end_with_made_up_hash_is_caught(chain):
    AuditEntry.objects.create(
        seq=CHAIN_LENGTH + 1,
        created_at=datetime.now(UTC),
        actor_kind="system",
        actor_label="test",
        action="test.forged",
        outcome=Outcome.OK,
        prev_hash=chain[-1].entry_hash,
        entry_hash="ab" * 32,
    )
    set_head_to_last()
    failed(CHAIN_LENGTH + 1, "altered")


def test_cut_tail_is_caught_by_the_head(chain):
    AuditEntry.objects.filter(seq__gt=CHAIN_LENGTH - 3).delete()
    failed(CHAIN_LENGTH - 2, "head", "removed from the end")


def test_consistent_rewrite_is_not_caught_without_a_checkpoint(chain):
    """Why checkpoints exist: the chain alone cannot catch a rewrite by someone who recomputes
    the hashes and holds the signing key. (Also proves that the rewrites below really are
    consistent.)"""
    AuditEntry.objects.filter(seq=K).update(action="test.rewritten")
    rewrite_consistently(K, mac_key=real_mac_key())
    assert verify().ok


# --- signed checkpoints ------------------------------------------------------------------------


def test_checkpoint_is_stored_in_the_database_and_the_file(chain, settings):
    checkpoint = write_checkpoint()

    assert checkpoint is not None
    assert (checkpoint.seq, checkpoint.entry_hash) == (CHAIN_LENGTH, chain[-1].entry_hash)
    assert AuditCheckpoint.objects.get().signature == checkpoint.signature
    genesis, *lines = checkpoint_lines(settings.MNVAULT_CHECKPOINT_FILE)
    assert json.loads(genesis)["seq"] == 0  # written as the installation was made
    assert [json.loads(line) for line in lines] == [asdict(checkpoint)]
    result = verify()
    assert result.ok, result.message
    assert result.checkpoints == 2  # the database row and the line of the file


def test_head_already_signed_is_not_signed_again(chain):
    assert write_checkpoint() is not None
    assert write_checkpoint() is None
    assert AuditCheckpoint.objects.count() == 1


@pytest.mark.parametrize("drop", ["nothing", "database rows", "file"])
def test_consistent_rewrite_is_caught_by_the_checkpoint(chain, settings, drop):
    """Each copy of the checkpoint catches the rewrite on its own: the attacker may remove the
    rows from the database, or (with file access) the file, but not both unnoticed."""
    append(5, start=CHAIN_LENGTH)
    write_checkpoint()  # at #25
    if drop == "database rows":
        AuditCheckpoint.objects.all().delete()
    elif drop == "file":
        settings.MNVAULT_CHECKPOINT_FILE.unlink()

    AuditEntry.objects.filter(seq=K).update(detail={"i": "rewritten"})
    rewrite_consistently(K, mac_key=real_mac_key())

    where = "audit-checkpoints.jsonl line 2" if drop == "database rows" else "database checkpoint"
    failed(CHAIN_LENGTH + 5, f"#{CHAIN_LENGTH + 5} differs from {where}", "rewritten")


def test_rewrite_is_caught_at_the_first_checkpoint_after_it(chain):
    write_checkpoint()  # at #20
    append(5, start=CHAIN_LENGTH)
    write_checkpoint()  # at #25
    AuditEntry.objects.filter(seq=K).update(action="test.rewritten")
    rewrite_consistently(K, mac_key=real_mac_key())
    failed(CHAIN_LENGTH, f"rewritten at or before #{CHAIN_LENGTH}")


def test_rewrite_of_a_whole_chain_after_deleting_the_rows_is_caught_by_the_file(chain):
    """Rewriting from the first entry, with fresh timestamps, and removing every checkpoint row:
    the file outside the database still holds the signed head."""
    write_checkpoint()
    AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    rewrite_consistently(1, mac_key=real_mac_key())
    failed(CHAIN_LENGTH, "audit-checkpoints.jsonl line 2")  # line 1: the genesis


def test_deletion_with_consistent_renumbering_is_caught_by_the_checkpoint(chain):
    write_checkpoint()
    AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.filter(seq=K).delete()
    for seq in range(K + 1, CHAIN_LENGTH + 1):
        renumber(seq, seq - 1)
    rewrite_consistently(K, mac_key=real_mac_key())
    failed(CHAIN_LENGTH, f"#{CHAIN_LENGTH} to #{CHAIN_LENGTH} are missing")


@pytest.mark.parametrize("drop_rows", [False, True], ids=["rows kept", "rows deleted"])
def test_cut_tail_with_head_fixed_is_caught_by_the_checkpoint(chain, drop_rows):
    write_checkpoint()
    if drop_rows:
        AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.filter(seq__gt=15).delete()
    set_head_to_last()
    failed(16, f"entries #16 to #{CHAIN_LENGTH} are missing")


def test_cut_tail_after_the_last_checkpoint_leaves_earlier_entries_provable(chain):
    """The tail after the last checkpoint is what the next checkpoint protects; the entries
    before it are still checked against the signature."""
    write_checkpoint()
    append(3, start=CHAIN_LENGTH)
    AuditEntry.objects.filter(seq__gt=CHAIN_LENGTH).delete()
    set_head_to_last()
    result = verify()
    assert result.ok, result.message
    assert result.entries == CHAIN_LENGTH


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"signature": "00" * 64}, id="signature replaced"),
        pytest.param({"signature": "zz"}, id="signature not hex"),
        pytest.param({"entry_hash": "cd" * 32}, id="head changed to match a rewrite"),
        pytest.param({"seq": CHAIN_LENGTH - 1}, id="count changed"),
        pytest.param({"created_at": datetime(2020, 1, 1, tzinfo=UTC)}, id="time changed"),
    ],
)
def test_forged_database_checkpoint_is_caught(chain, forge):
    write_checkpoint()
    row = AuditCheckpoint.objects.get()
    AuditCheckpoint.objects.filter(pk=row.pk).update(**forge)
    failed(None, f"database checkpoint {row.pk}", "signature does not hold")


def _signed_by(key: Ed25519PrivateKey, claimed_key_hex: str, seq: int, digest: str) -> Checkpoint:
    unsigned = Checkpoint(
        seq=seq,
        entry_hash=digest,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        public_key=claimed_key_hex,
        signature="",
    )
    return replace(unsigned, signature=key.sign(unsigned.message()).hex())


@pytest.mark.parametrize("claims_real_key", [False, True], ids=["own key", "claims real key"])
def test_checkpoint_signed_with_another_key_is_caught(chain, settings, claims_real_key):
    """An attacker rewrites the chain, removes the real checkpoints and signs the new head with
    a key of their own: the signature is checked against the key file, not the row."""
    write_checkpoint()
    real_key_hex = AuditCheckpoint.objects.get().public_key
    AuditCheckpoint.objects.all().delete()
    settings.MNVAULT_CHECKPOINT_FILE.unlink()
    AuditEntry.objects.filter(seq=K).update(action="test.rewritten")
    rewrite_consistently(K, mac_key=real_mac_key())

    own = Ed25519PrivateKey.generate()
    claimed = real_key_hex if claims_real_key else public_key_hex(own.public_key())
    forged = _signed_by(own, claimed, CHAIN_LENGTH, AuditHead.objects.get().entry_hash)
    row = AuditCheckpoint.objects.create(
        **{**asdict(forged), "created_at": datetime.fromisoformat(forged.created_at)}
    )
    failed(None, f"database checkpoint {row.pk}", "signature does not hold")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda line: line[: len(line) // 2], id="cut in half"),
        pytest.param(lambda line: "not json at all", id="not json"),
        pytest.param(lambda line: "", id="blank"),
        pytest.param(lambda line: json.dumps({"seq": 20}), id="fields missing"),
        pytest.param(lambda line: line.replace('"seq": 20', '"seq": 19'), id="count changed"),
        pytest.param(lambda line: json.dumps({**json.loads(line), "extra": 1}), id="unknown field"),
    ],
)
def test_damaged_line_in_the_checkpoint_file_is_caught(chain, settings, damage):
    write_checkpoint()
    append(1, start=CHAIN_LENGTH)
    write_checkpoint()
    path: Path = settings.MNVAULT_CHECKPOINT_FILE
    genesis, first, second = checkpoint_lines(path)
    assert '"seq": 20' in first
    path.write_text(f"{genesis}\n{damage(first)}\n{second}\n", encoding="utf-8")
    failed(None, "audit-checkpoints.jsonl line 2")


def test_checkpoint_written_with_another_key_file_is_caught(chain, settings, tmp_path):
    """A checkpoint file from another installation (or signed before the key file was swapped)
    does not vouch for this log."""
    other = tmp_path / "other-checkpoints.jsonl"
    own = Ed25519PrivateKey.generate()
    forged = _signed_by(own, public_key_hex(own.public_key()), CHAIN_LENGTH, chain[-1].entry_hash)
    other.write_text(json.dumps(asdict(forged), sort_keys=True) + "\n", encoding="utf-8")
    result = verify_in_english(checkpoint_path=other)
    assert not result.ok
    assert "other-checkpoints.jsonl line 1" in result.message


# --- the command -------------------------------------------------------------------------------


def test_cli_verify_exits_1_and_names_the_entry(chain):
    AuditEntry.objects.filter(seq=K).update(outcome=Outcome.OK)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", stdout=out, stderr=err)
    assert exited.value.code == 1
    assert f"検証失敗: 記録 #{K} は書き込み後に改変されています" in err.getvalue()
    assert "altered" not in err.getvalue()  # one language per message
    assert "OK" not in out.getvalue()

    with translation.override("en"), pytest.raises(SystemExit):
        call_command("audit", "verify", stdout=out, stderr=(english := io.StringIO()))
    assert f"FAILED: entry #{K} was altered after it was written" in english.getvalue()


def test_cli_verify_passes_on_an_intact_chain(chain):
    write_checkpoint()
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    assert f"OK: 記録 {CHAIN_LENGTH} 件、" in out.getvalue()
    assert "署名済みチェックポイント 2 件が有効" in out.getvalue()
    assert err.getvalue() == ""
    with translation.override("en"):
        call_command("audit", "verify", stdout=(english := io.StringIO()))
    assert (
        f"OK: {CHAIN_LENGTH} entries, chain intact, 2 signed checkpoints hold" in english.getvalue()
    )


def test_cli_verify_warns_of_a_torn_checkpoint_line_and_exits_0(chain, settings):
    with open(settings.MNVAULT_CHECKPOINT_FILE, "ab") as handle:
        handle.write(b'{"seq": 20, "entry_hash": "ab')  # a crash in the middle of an append
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    assert f"OK: 記録 {CHAIN_LENGTH} 件" in out.getvalue()
    assert err.getvalue().startswith("警告: ")
    assert "書き込みの中断により途中で切れています" in err.getvalue()


def test_cli_verify_reads_the_given_checkpoint_file(chain, tmp_path):
    path = tmp_path / "elsewhere.jsonl"
    write_checkpoint(path=path)
    AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.filter(seq=K).update(action="test.rewritten")
    rewrite_consistently(K, mac_key=real_mac_key())

    call_command("audit", "verify", stdout=io.StringIO())  # the default file: the genesis only
    with pytest.raises(SystemExit):
        call_command("audit", "verify", "--checkpoint-file", str(path), stderr=io.StringIO())


def test_cli_checkpoint_writes_one(chain, settings):
    out = io.StringIO()
    call_command("audit", "checkpoint", stdout=out)

    assert f"signed checkpoint at entry #{CHAIN_LENGTH}" in out.getvalue()
    row = AuditCheckpoint.objects.get()
    assert (row.seq, row.entry_hash) == (CHAIN_LENGTH, chain[-1].entry_hash)
    assert len(checkpoint_lines(settings.MNVAULT_CHECKPOINT_FILE)) == 2  # after the genesis
    assert verify().checkpoints == 2

    again = io.StringIO()
    call_command("audit", "checkpoint", stdout=again)
    assert "署名する新しい記録はありません" in again.getvalue()
    assert AuditCheckpoint.objects.count() == 1


def test_cli_checkpoint_on_an_empty_log_writes_nothing(settings):
    genesis = settings.MNVAULT_CHECKPOINT_FILE.read_bytes()
    out = io.StringIO()
    call_command("audit", "checkpoint", stdout=out)
    assert "署名する新しい記録はありません" in out.getvalue()
    assert not AuditCheckpoint.objects.exists()
    assert settings.MNVAULT_CHECKPOINT_FILE.read_bytes() == genesis


def test_a_deleted_head_is_caught(chain):
    from mnvault.audit.models import AuditHead

    AuditHead.objects.all().delete()
    result = verify_in_english()
    assert not result.ok and "head is missing" in result.message
