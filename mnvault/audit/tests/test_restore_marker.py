"""The signed restore marker (issue 13, item 3): after a restore from a backup, a checkpoint
file that ran past the restored head verifies through the signed restore line and restore
entry alone, while every other truncation or edit is still caught (``audit.restores``).

A restore is simulated as the restored database is: the entries after the backup's head and
the database checkpoints of them gone, the head row back at it; the checkpoint file, on other
storage, left as it was."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import translation

from mnvault.audit import restores, signing, witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import RestoreMark, public_key, public_key_hex, write_checkpoint
from mnvault.audit.export import verify_export, write_export
from mnvault.audit.log import record
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.audit.tests.tampering import (
    append,
    checkpoint_lines,
    failed,
    real_mac_key,
    rewrite_consistently,
    set_head_to_last,
    verify_in_english,
)
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

N = 12  # the backup's last entry
LOST = 20  # the last entry (and checkpoint) before the server was lost


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def checkpoint_file() -> Path:
    return Path(settings.MNVAULT_CHECKPOINT_FILE)


def back_to(head: int) -> None:
    """The database as the backup taken at entry ``head`` holds it."""
    AuditEntry.objects.filter(seq__gt=head).delete()
    AuditCheckpoint.objects.filter(seq__gt=head).delete()
    set_head_to_last()


def restore_to(head: int) -> tuple[AuditEntry, RestoreMark]:
    back_to(head)
    return restores.record_restore(
        head=head, actor=Actor.system("test-restore"), detail={"backup_of": "2026-11-28"}
    )


@pytest.fixture
def lost_tail() -> None:
    """A chain signed at N and past it, up to LOST: the backup was taken at N."""
    append(N)
    write_checkpoint()
    append(LOST - N, start=N)
    write_checkpoint()
    assert verify_in_english().ok


def file_lines() -> list[dict]:
    return [json.loads(line) for line in checkpoint_lines(checkpoint_file())]


def write_lines(lines: list[dict]) -> None:
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    checkpoint_file().write_text(text, encoding="utf-8")


def mark_index() -> int:
    return next(i for i, line in enumerate(file_lines()) if line.get("kind") == "restore")


# --- without a marker, and with one ----------------------------------------------------------


def test_without_a_marker_a_restored_log_fails_against_the_surviving_file(lost_tail):
    back_to(N)
    append(1, start=N)  # the first entry after the restore takes #13 again
    failed(N + 2, f"entries #{N + 2} to #{LOST} are missing")


def test_after_a_signed_restore_verify_passes(lost_tail):
    entry, mark = restore_to(N)
    assert (entry.seq, mark.head_seq, mark.lost_to) == (N + 1, N, LOST)
    assert entry.detail["head"] == N and entry.detail["lost_to"] == LOST
    result = verify_in_english()
    assert result.ok, result.message
    assert result.entries == N + 1
    assert f"restored from a backup at entry #{N}" in result.message
    assert [m for _where, m in result.restores] == [mark]


def test_the_restore_entry_names_the_head_without_hex(lost_tail):
    """The head hash goes into the detail in base64: a hex digest can hold a run of twelve
    digits that validates as an individual number."""
    entry, mark = restore_to(N)
    assert entry.action == Action.BACKUP_RESTORE
    assert entry.detail["head_hash"] == restores.b64(mark.head_hash)
    assert mark.head_hash not in json.dumps(entry.detail)


def test_the_log_goes_on_after_a_restore(lost_tail):
    restore_to(N)
    append(12, start=LOST)  # past the lost range too
    write_checkpoint()
    result = verify_in_english()
    assert result.ok, result.message
    assert result.entries == N + 1 + 12


# --- what is still caught ----------------------------------------------------------------------


def test_deleting_one_more_entry_is_caught(lost_tail):
    restore_to(N)
    AuditEntry.objects.filter(seq=N).delete()
    failed(N, f"entry #{N} is missing")


def test_cutting_the_restored_head_and_the_restore_entry_is_caught(lost_tail):
    restore_to(N)
    AuditEntry.objects.filter(seq__gt=N - 1).delete()
    AuditCheckpoint.objects.filter(seq__gt=N - 1).delete()
    set_head_to_last()
    failed(N, f"entries #{N} to")


def test_a_checkpoint_after_the_restore_line_is_checked_as_any(lost_tail):
    restore_to(N)
    append(3, start=LOST)
    write_checkpoint()
    back_to(N + 2)  # entries after the restore cut, with their database checkpoint
    failed(N + 3, f"entries #{N + 3} to #{N + 4} are missing")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"head_seq": N - 1}, id="head moved"),
        pytest.param({"head_hash": "ab" * 32}, id="head hash"),
        pytest.param({"lost_to": LOST - 1}, id="lost range"),
        pytest.param({"restore_entry_seq": N + 2}, id="restore entry"),
    ],
)
def test_an_edited_restore_line_is_caught(lost_tail, change):
    restore_to(N)
    lines = file_lines()
    lines[mark_index()].update(change)
    write_lines(lines)
    failed(None, "the signature does not hold")


def test_a_restore_line_signed_with_another_key_is_caught(lost_tail):
    restore_to(N)
    lines = file_lines()
    forged = RestoreMark(**lines[mark_index()])
    other = Ed25519PrivateKey.generate()
    for claimed in (public_key_hex(other.public_key()), forged.public_key):
        made = replace(forged, public_key=claimed, signature="")
        lines[mark_index()] = asdict(replace(made, signature=other.sign(made.message()).hex()))
        write_lines(lines)
        failed(None, "the signature does not hold")


def test_a_restore_line_without_a_signature_is_caught(lost_tail):
    restore_to(N)
    lines = file_lines()
    lines[mark_index()]["signature"] = ""
    write_lines(lines)
    failed(None, "the signature does not hold")


def test_a_restore_line_moved_later_in_the_file_is_caught(lost_tail):
    """Moved after later checkpoints, it would supersede them too (a cut after the restore)."""
    restore_to(N)
    append(3, start=LOST)
    write_checkpoint()
    lines = file_lines()
    lines.append(lines.pop(mark_index()))
    write_lines(lines)
    failed(None, "the restore line was moved")


def test_a_restore_entry_re_hashed_with_the_mac_key_is_caught(lost_tail):
    """Someone holding the database and the MAC key edits the restore entry and re-hashes
    what follows; with no checkpoint after it, the restore line alone tells."""
    entry, _mark = restore_to(N)
    AuditCheckpoint.objects.filter(seq__gt=N).delete()
    write_lines([line for line in file_lines() if line.get("seq") != entry.seq])
    detail = {**entry.detail, "lost_to": N}
    AuditEntry.objects.filter(seq=entry.seq).update(detail=detail)
    rewrite_consistently(entry.seq, mac_key=real_mac_key())
    failed(None, f"the restore's audit entry #{entry.seq} is missing or differs")


def test_a_signed_restore_line_whose_entry_says_otherwise_is_caught(lost_tail):
    """Even a line signed with the installation's key holds only with its entry: one that
    names a head the entry does not is refused."""
    entry, mark = restore_to(N)
    lines = file_lines()
    key = signing.signing_key()
    made = replace(mark, lost_to=N, signature="")
    lines[mark_index()] = asdict(replace(made, signature=key.sign(made.message()).hex()))
    write_lines(lines)
    failed(None, f"the restore's audit entry #{entry.seq} does not name")


def test_a_restore_entry_without_its_line_does_not_supersede(lost_tail):
    restore_to(N)
    write_lines([line for line in file_lines() if line.get("kind") != "restore"])
    failed(N + 2, f"entries #{N + 2} to #{LOST} are missing")


# --- a second restore --------------------------------------------------------------------------


def test_a_second_restore_from_a_later_backup(lost_tail):
    restore_to(N)
    append(6, start=LOST)  # #14..#19 in the restored log
    write_checkpoint()
    restore_to(N + 3)  # a backup taken after the first restore
    result = verify_in_english()
    assert result.ok, result.message
    assert len(result.restores) == 2


def test_a_second_restore_from_the_same_backup_supersedes_the_first(lost_tail):
    restore_to(N)
    append(4, start=LOST)
    write_checkpoint()
    _entry, second = restore_to(N)  # the first restore's own entry is lost with the rest
    result = verify_in_english()
    assert result.ok, result.message
    assert [m for _where, m in result.restores] == [second]
    AuditEntry.objects.filter(seq=N - 1).delete()
    failed(N - 1, f"entry #{N - 1} is missing")


# --- witnesses ---------------------------------------------------------------------------------


@pytest.fixture
def witness_file(settings, tmp_path) -> Path:
    path = tmp_path / "elsewhere" / "witness.jsonl"
    settings.MNVAULT_CHECKPOINT_WITNESS_FILE = path
    return path


def test_a_witness_of_the_lost_entries_is_superseded_and_said_so(witness_file):
    append(N)
    witness.sign_and_witness()
    append(LOST - N, start=N)
    witness.sign_and_witness()
    _entry, mark = restore_to(N)
    witness.witness_restore(mark)
    result = verify_in_english()
    assert result.ok, result.message
    found = witness.read_witnesses(witness_file)
    assert [w.seq for _where, w in found if w is not None] == [N, LOST]
    checked = witness.check_chain(
        found, entries=result.entries, source="w", restored=result.restores
    )
    assert checked.ok, checked.message
    assert checked.checkpoints == 1
    assert "1 witnessed checkpoint in w is of entries lost" in checked.message
    unmarked = witness.check_chain(found, entries=result.entries, source="w")
    assert not unmarked.ok and f"#{LOST}" in unmarked.message, unmarked.message


def test_the_witness_file_goes_on_from_the_restored_head(witness_file):
    append(N)
    append(LOST - N, start=N)
    witness.sign_and_witness()
    _entry, mark = restore_to(N)
    witness.witness_restore(mark)
    witness.sign_and_witness()  # the checkpoint of the restore entry, #13 < #20
    found = witness.read_witnesses(witness_file)
    assert [w.seq for _where, w in found if w is not None] == [LOST, N + 1]
    result = verify_in_english()
    checked = witness.check_chain(
        found, entries=result.entries, source="w", restored=result.restores
    )
    assert checked.ok and checked.checkpoints == 1, checked.message


def test_a_witness_signed_after_the_restore_is_checked_as_any(witness_file):
    append(N)
    append(LOST - N, start=N)
    _entry, mark = restore_to(N)
    witness.witness_restore(mark)
    append(LOST - N, start=LOST)
    witness.sign_and_witness()
    with transaction.atomic():
        record(actor=Actor.system("t"), action=Action.PEOPLE_UPDATE, detail={})
    AuditEntry.objects.filter(seq__gt=N + 1).delete()
    AuditCheckpoint.objects.filter(seq__gt=N + 1).delete()
    checkpoints_left = [line for line in file_lines() if line.get("seq", 0) <= N + 1]
    write_lines(checkpoints_left)
    set_head_to_last()
    result = verify_in_english()
    assert result.ok, result.message  # the cut after the last checkpoint: only a witness tells
    found = witness.read_witnesses(witness_file)
    checked = witness.check_chain(
        found, entries=result.entries, source="w", restored=result.restores
    )
    assert not checked.ok and "are missing" in checked.message, checked.message


def test_an_export_after_a_restore_holds_the_chain_as_it_now_is(lost_tail, tmp_path):
    """The checkpoints of the lost entries stay out of an export: offline, without the
    database, they could only fail."""
    restore_to(N)
    append(10, start=LOST)  # past the lost checkpoint's #20
    last = write_checkpoint()
    assert last is not None and last.seq > LOST
    path = tmp_path / "export.jsonl"
    write_export(path, last=last)
    seqs = [json.loads(x)["seq"] for x in path.read_text().splitlines() if '"checkpoint"' in x]
    assert LOST not in seqs and N in seqs
    result = verify_export(path, public_key())
    assert result.ok, result.message
