"""A restore cut short between its signed audit entry and its restore line (issue 13): ``audit
verify`` fails until ``restores.finish_pending`` writes the line from the entry's own detail,
which ``mnvault serve`` does before its first checkpoint. It writes nothing for an entry that
does not hold, and nothing twice; every other truncation is still caught afterwards.

The crash is the real code path with the append of the restore line failing once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from mnvault.audit import checkpoints, restores
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.audit.tests.tampering import append, failed, set_head_to_last, verify_in_english
from mnvault.cli.management.commands import serve
from mnvault.cli.tests.test_checkpoint_loop import Rounds
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

N = 12  # the backup's last entry
LOST = 20  # the last entry (and checkpoint) before the server was lost


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def witness_file(settings, tmp_path) -> Path:
    path = tmp_path / "elsewhere" / "witness.jsonl"
    settings.MNVAULT_CHECKPOINT_WITNESS_FILE = path
    return path


def file_text() -> str:
    return Path(settings.MNVAULT_CHECKPOINT_FILE).read_text(encoding="utf-8")


def restore_lines() -> list[dict]:
    lines = [json.loads(line) for line in file_text().splitlines()]
    return [line for line in lines if line.get("kind") == "restore"]


@pytest.fixture
def crashed(monkeypatch, witness_file) -> AuditEntry:
    """A chain signed up to LOST, restored from the backup taken at N, the restore stopped
    right after committing its entry: the restore line never reached the file."""
    append(N)
    write_checkpoint()
    append(LOST - N, start=N)
    write_checkpoint()
    AuditEntry.objects.filter(seq__gt=N).delete()
    AuditCheckpoint.objects.filter(seq__gt=N).delete()
    set_head_to_last()

    def crash(*args, **kwargs):
        raise OSError("the machine went down")

    monkeypatch.setattr(checkpoints, "append_restore_mark", crash)
    with pytest.raises(OSError):
        restores.record_restore(head=N, actor=Actor.system("test-restore"))
    monkeypatch.undo()
    entry = AuditEntry.objects.get(seq=N + 1)
    assert entry.action == Action.BACKUP_RESTORE and not restore_lines()
    return entry


def test_a_restore_cut_short_fails_verify_and_says_why(crashed):
    result = failed(N + 2, f"entries #{N + 2} to #{LOST} are missing")
    assert "stopped after its audit entry" in result.message


def test_finishing_it_writes_the_line_its_entry_names_and_verify_passes(crashed, witness_file):
    mark = restores.finish_pending()
    assert mark is not None
    assert (mark.head_seq, mark.lost_to) == (N, LOST)
    assert (mark.restore_entry_seq, mark.restore_entry_hash) == (N + 1, crashed.entry_hash)
    assert restores.b64(mark.head_hash) == crashed.detail["head_hash"]
    result = verify_in_english()
    assert result.ok, result.message
    assert f"restored from a backup at entry #{N}" in result.message
    assert [m for _where, m in result.restores] == [mark]
    assert AuditCheckpoint.objects.filter(seq=N + 1).exists()  # signed after the line
    witnessed = [json.loads(x) for x in witness_file.read_text().splitlines()]
    assert witnessed[-1]["signature"] == mark.signature


def test_a_second_call_does_nothing(crashed):
    restores.finish_pending()
    before = file_text()
    assert restores.finish_pending() is None
    assert file_text() == before
    assert len(restore_lines()) == 1


def test_after_finishing_a_deleted_entry_is_still_caught(crashed):
    restores.finish_pending()
    AuditEntry.objects.filter(seq=N - 1).delete()
    failed(N - 1, f"entry #{N - 1} is missing")


def test_after_finishing_cutting_the_restore_entry_is_still_caught(crashed):
    restores.finish_pending()
    AuditEntry.objects.filter(seq=N + 1).delete()
    AuditCheckpoint.objects.filter(seq=N + 1).delete()
    set_head_to_last()
    assert not verify_in_english().ok


def test_a_finished_restore_has_nothing_pending(witness_file):
    append(N)
    write_checkpoint()
    restores.record_restore(head=N, actor=Actor.system("test-restore"))
    before = file_text()
    assert restores.finish_pending() is None
    assert file_text() == before


def test_without_a_restore_nothing_is_written():
    append(3)
    write_checkpoint()
    before = file_text()
    assert restores.finish_pending() is None
    assert file_text() == before


def test_no_line_for_a_restore_entry_with_a_forged_mac(crashed):
    """Someone with the database but not the signing key cannot have the server sign a
    restore line that would excuse a cut log."""
    AuditEntry.objects.filter(seq=N + 1).update(mac="0" * 64)
    assert restores.finish_pending() is None
    assert not restore_lines()
    assert not verify_in_english().ok


def test_no_line_for_a_restore_entry_whose_detail_was_edited(crashed):
    detail = {**crashed.detail, "lost_to": LOST + 50}
    AuditEntry.objects.filter(seq=N + 1).update(detail=detail)
    assert restores.finish_pending() is None
    assert not restore_lines()


def test_the_server_finishes_it_at_start_before_its_first_checkpoint(crashed, monkeypatch):
    monkeypatch.setattr(serve, "close_old_connections", lambda: None)
    serve._checkpoint_loop(Rounds(1), 300.0)
    result = verify_in_english()
    assert result.ok, result.message
    assert len(restore_lines()) == 1
