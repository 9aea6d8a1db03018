"""The ways of tampering with an installation that issue 9 lists, by the access they need
(docs/threat-model.md): (a) the database, (b) the data directory (for SQLite the database is
in it), (c) the data directory and every key. Each is caught, or the threat model says why it
cannot be at that level and which setting changes that, and the test asserts just that.

The scene: 20 entries signed by a checkpoint (in the database and in the file), then 5 more
written after it, the stretch that only the entries' MACs protect until the next checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from mnvault.audit import signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import ensure_genesis, read_file, write_checkpoint, write_genesis
from mnvault.audit.log import entry_hash, hashed_fields, record
from mnvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead, Outcome
from mnvault.audit.tests.tampering import (
    CHAIN_LENGTH,
    K,
    append,
    checkpoint_lines,
    erase_entries,
    failed,
    real_mac_key,
    renumber,
    resign_everything,
    rewrite_consistently,
    set_head_to_last,
    verify_in_english,
)
from mnvault.cli.setup import ensure_signing_key_file
from mnvault.conftest import ALL_DATABASES, log_role_grants
from mnvault.vault import keys
from mnvault.vault.errors import KeyUnavailable
from mnvault.vault.keys import KeyFileProvider
from mnvault.vault.services import Verification, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

TAIL = 5  # entries after the last checkpoint
LAST = CHAIN_LENGTH + TAIL
T = CHAIN_LENGTH + 2  # an entry in the tail


@pytest.fixture
def scene() -> None:
    append(CHAIN_LENGTH)
    assert write_checkpoint() is not None
    append(TAIL, start=CHAIN_LENGTH)
    result = verify_in_english()
    assert result.ok, result.message
    assert (result.entries, result.checkpoints) == (LAST, 2)


def checkpoint_path() -> Path:
    return Path(settings.MNVAULT_CHECKPOINT_FILE)


def forged_entry(seq: int, prev_hash: str, **fields) -> AuditEntry:
    """An entry made to look written by the application: right link, right hash, and a MAC
    that whoever lacks the signing key can only make up."""
    entry = AuditEntry(
        seq=seq,
        created_at=AuditEntry.objects.latest("seq").created_at,
        actor_kind="user",
        actor_id=3,
        actor_label="handler",
        company_id=1,
        person_id=101,
        action=Action.NUMBER_REVEAL,
        purpose="withholding",
        outcome=Outcome.OK,
        detail={},
        prev_hash=prev_hash,
        mac="ab" * 32,
        **fields,
    )
    entry.entry_hash = entry_hash(prev_hash, hashed_fields(entry.__dict__))
    return entry


def hash_of(seq: int) -> str:
    return AuditEntry.objects.get(seq=seq).entry_hash


# --- (a) the database --------------------------------------------------------------------------


def test_a_edited_entry_is_caught(scene):
    AuditEntry.objects.filter(seq=K).update(purpose="social_insurance")
    failed(K, f"entry #{K} was altered")


def test_a_deleted_entry_is_caught(scene):
    AuditEntry.objects.filter(seq=K).delete()
    failed(K, f"entry #{K} is missing")


def test_a_swapped_entries_are_caught(scene):
    renumber(K, -1)
    renumber(K + 1, K)
    renumber(-1, K + 1)
    failed(K, "reordered")


def test_a_naive_insertion_at_the_end_is_caught(scene):
    forged = forged_entry(LAST + 1, hash_of(LAST))
    forged.entry_hash = "cd" * 32
    forged.save(force_insert=True)
    set_head_to_last()
    failed(LAST + 1, "altered")


def test_a_forged_reveal_with_right_hashes_after_the_last_checkpoint_is_caught(scene):
    """The hole of the plain hash chain: an entry after the last checkpoint, with the right
    link and hash, head moved on. Its MAC cannot be made without the signing key."""
    forged_entry(LAST + 1, hash_of(LAST)).save(force_insert=True)
    set_head_to_last()
    failed(LAST + 1, f"entry #{LAST + 1} has a MAC that does not hold")


def test_a_forged_entry_without_a_mac_after_the_last_checkpoint_is_caught(scene):
    forged_entry(LAST + 1, hash_of(LAST), **{}).save(force_insert=True)
    AuditEntry.objects.filter(seq=LAST + 1).update(mac="")
    set_head_to_last()
    failed(LAST + 1, f"entry #{LAST + 1} has no MAC")


def test_a_insertion_with_hashes_inside_the_tail_is_caught(scene):
    for seq in range(LAST, T - 1, -1):
        renumber(seq, seq + 1)
    forged_entry(T, hash_of(T - 1)).save(force_insert=True)
    rewrite_consistently(T + 1)
    failed(T, f"entry #{T} has a MAC that does not hold")


def test_a_edit_inside_the_tail_re_hashed_is_caught(scene):
    AuditEntry.objects.filter(seq=T).update(outcome=Outcome.REFUSED, reason="role")
    rewrite_consistently(T)
    failed(T, f"entry #{T} has a MAC that does not hold")


def test_a_reorder_inside_the_tail_re_hashed_is_caught(scene):
    renumber(T, -1)
    renumber(T + 1, T)
    renumber(-1, T + 1)
    AuditEntry.objects.filter(seq__in=[T, T + 1]).update(
        created_at=AuditEntry.objects.get(seq=T - 1).created_at
    )
    rewrite_consistently(T)
    failed(T, f"entry #{T} has a MAC that does not hold")


def test_a_deletion_inside_the_tail_renumbered_and_re_hashed_is_caught(scene):
    AuditEntry.objects.filter(seq=T).delete()
    for seq in range(T + 1, LAST + 1):
        renumber(seq, seq - 1)
    rewrite_consistently(T)
    failed(T, f"entry #{T} has a MAC that does not hold")


def test_a_full_re_hash_without_the_key_is_caught(scene):
    AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.filter(seq=1).update(action=Action.AUDIT_EXPORT)
    rewrite_consistently(1)
    failed(1, "entry #1 has a MAC that does not hold")


def test_a_cut_tail_without_fixing_the_head_is_caught(scene):
    AuditEntry.objects.filter(seq__gt=T).delete()
    failed(T + 1, "head", "removed from the end")


def test_a_cut_into_the_signed_part_with_the_head_fixed_is_caught(scene):
    AuditEntry.objects.filter(seq__gt=15).delete()
    set_head_to_last()
    failed(16, f"entries #16 to #{CHAIN_LENGTH} are missing")


def test_a_cut_with_head_and_database_checkpoints_fixed_is_caught_by_the_file(scene):
    AuditEntry.objects.filter(seq__gt=15).delete()
    set_head_to_last()
    AuditCheckpoint.objects.all().delete()
    failed(16, f"entries #16 to #{CHAIN_LENGTH} are missing", "audit-checkpoints.jsonl line 2")


def test_a_cut_of_the_tail_after_the_last_checkpoint_is_not_caught(scene):
    """Documented (docs/threat-model.md, "What the database alone cannot hide"): entries
    written since the last checkpoint, cut from the end with the head set back, leave a log
    that holds. The window is the checkpoint interval; a witness closes it."""
    AuditEntry.objects.filter(seq__gt=CHAIN_LENGTH).delete()
    set_head_to_last()
    result = verify_in_english()
    assert result.ok, result.message
    assert result.entries == CHAIN_LENGTH


def test_a_total_wipe_of_the_log_is_caught_by_the_file(scene):
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()
    AuditCheckpoint.objects.all().delete()
    failed(1, f"entries #1 to #{CHAIN_LENGTH} are missing")


# --- (b) the data directory: the checkpoint file -----------------------------------------------


def test_b_deleted_checkpoint_file_is_caught(scene):
    checkpoint_path().unlink()
    failed(None, "the checkpoint file", "is missing")


def test_b_deleted_checkpoint_file_and_rows_are_caught(scene):
    checkpoint_path().unlink()
    AuditCheckpoint.objects.all().delete()
    failed(None, "the checkpoint file", "is missing")


def test_b_emptied_checkpoint_file_is_caught(scene):
    checkpoint_path().write_bytes(b"")
    failed(None, "holds no checkpoint (emptied)")


def test_b_shortened_checkpoint_file_is_caught(scene):
    genesis, _signed = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(genesis + "\n", encoding="utf-8")
    failed(None, f"lacks the checkpoint at entry #{CHAIN_LENGTH}", "lines were removed")


def test_b_line_removed_from_the_middle_of_the_file_is_caught(scene):
    write_checkpoint()
    genesis, _first, last = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(f"{genesis}\n{last}\n", encoding="utf-8")
    failed(None, f"lacks the checkpoint at entry #{CHAIN_LENGTH}")


def test_b_genesis_line_removed_is_caught(scene):
    _genesis, signed = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(signed + "\n", encoding="utf-8")
    failed(None, "has no genesis line")


def test_checkpoints_written_to_another_servers_file_are_not_required_here(scene, tmp_path):
    """With several app servers, each may keep its own checkpoint file: a row says which
    file its line went to, and only that file must hold it."""
    other = tmp_path / "other-server" / "audit-checkpoints.jsonl"
    append(1, start=LAST)
    write_checkpoint(path=other)
    assert [cp.seq for cp in read_file(other).checkpoints] == [0, LAST + 1]
    result = verify_in_english()
    assert result.ok, result.message
    assert result.checkpoints == 3  # two rows, and the line of this server's file
    assert verify_in_english(checkpoint_path=other).ok  # each holds what was written to it
    other.write_text(checkpoint_lines(other)[0] + "\n", encoding="utf-8")
    failed(None, f"lacks the checkpoint at entry #{LAST + 1}", checkpoint_path=other)
    assert verify_in_english().ok


def test_a_file_begun_before_genesis_lines_gets_one_and_verifies(scene):
    """An installation upgraded from before genesis lines: `mnvault init` (or serve) adds the
    line to the file it has; the rows written before name no file."""
    _genesis, signed = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(signed + "\n", encoding="utf-8")
    AuditCheckpoint.objects.update(file_id="")
    assert ensure_genesis() is not None
    assert [cp.seq for cp in read_file().checkpoints] == [CHAIN_LENGTH, 0]
    result = verify_in_english()
    assert result.ok, result.message
    assert write_checkpoint() is not None
    assert verify_in_english().ok


def test_b_edited_checkpoint_line_is_caught(scene):
    genesis, signed = checkpoint_lines(checkpoint_path())
    edited = json.dumps({**json.loads(signed), "seq": CHAIN_LENGTH - 1}, sort_keys=True)
    checkpoint_path().write_text(f"{genesis}\n{edited}\n", encoding="utf-8")
    failed(None, "audit-checkpoints.jsonl line 2", "signature does not hold")


def test_b_shortened_file_with_rows_deleted_and_a_cut_log_is_not_caught(scene):
    """Documented (docs/threat-model.md): with the database and the file in hand, cutting
    both back to an earlier checkpoint leaves nothing in the installation that remembers the
    later one. A witness (a copy of the checkpoints kept elsewhere) is what catches this."""
    AuditEntry.objects.filter(seq__gt=CHAIN_LENGTH).delete()
    set_head_to_last()
    append(3, start=100)  # written on, so that the cut is not even at the head any more
    AuditCheckpoint.objects.all().delete()
    genesis, _signed = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(genesis + "\n", encoding="utf-8")
    result = verify_in_english()
    assert result.ok, result.message


def test_b_torn_last_line_is_a_warning_and_the_next_checkpoint_mends_it(scene):
    """A crash in the middle of an append leaves half a line: verification warns, and the
    next append removes it (appending after it would have broken both lines for good)."""
    with checkpoint_path().open("ab") as handle:
        handle.write(b'{"created_at": "2026-11-23T01:02:03.000000+00:00", "entry_ha')
    result = verify_in_english()
    assert result.ok, result.message
    assert len(result.warnings) == 1
    assert "cut short by an interrupted write" in result.warnings[0]
    assert read_file().torn

    assert write_checkpoint() is not None
    found = read_file()
    assert not found.torn
    assert [cp.seq for cp in found.checkpoints] == [0, CHAIN_LENGTH, LAST]
    result = verify_in_english()
    assert result.ok and result.warnings == (), result.message


def test_b_last_line_without_its_line_end_is_kept_and_ended(scene):
    data = checkpoint_path().read_bytes()
    checkpoint_path().write_bytes(data.rstrip(b"\n"))
    result = verify_in_english()
    assert result.ok and result.warnings == (), result.message
    write_checkpoint()
    assert [cp.seq for cp in read_file().checkpoints] == [0, CHAIN_LENGTH, LAST]


def test_b_torn_line_in_the_middle_is_damage_not_a_warning(scene):
    genesis, signed = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(f"{genesis}\n{signed[:40]}\n{signed}\n", encoding="utf-8")
    failed(None, "audit-checkpoints.jsonl line 2", "signature does not hold")


# --- (b) the data directory: the signing key -----------------------------------------------------


@pytest.fixture
def key_apart(scene, settings, tmp_path):
    """The signing key moved to a file of its own outside the data directory, as `mnvault
    init` does with MNVAULT_SIGNING_KEY_FILE set."""
    settings.MNVAULT_SIGNING_KEY_FILE = tmp_path / "elsewhere" / "audit-signing.key"
    keys.forget()
    assert ensure_signing_key_file(None) == "moved"
    assert verify_in_english().ok


def as_the_data_directory_alone(settings) -> None:
    """Run mnvault as someone who holds the data directory (and the database) but not the
    signing key's own file."""
    settings.MNVAULT_SIGNING_KEY_FILE = None
    keys.forget()


def test_b_re_signing_with_the_data_directory_fails_when_the_key_is_apart(key_apart, settings):
    """`mnvault audit checkpoint` after a rewrite: the data directory holds no signing key."""
    real = settings.MNVAULT_SIGNING_KEY_FILE
    AuditEntry.objects.filter(seq=K).update(purpose="social_insurance")
    as_the_data_directory_alone(settings)
    with pytest.raises(KeyUnavailable):
        rewrite_consistently(K, mac_key=signing.mac_key())
    with pytest.raises(KeyUnavailable):
        write_checkpoint()
    with pytest.raises(KeyUnavailable), transaction.atomic():
        record(actor=Actor.system("test"), action=Action.AUDIT_VERIFY)

    settings.MNVAULT_SIGNING_KEY_FILE = real
    keys.forget()
    failed(K, f"entry #{K} was altered")


def test_b_re_signing_with_a_key_of_ones_own_is_caught_when_the_key_is_apart(key_apart, settings):
    """The forger puts a signing key of their own in the key file, re-hashes, re-MACs and
    re-signs everything: neither the MACs nor the signatures are the installation's."""
    real = settings.MNVAULT_SIGNING_KEY_FILE
    as_the_data_directory_alone(settings)
    material = KeyFileProvider(settings.MNVAULT_KEY_FILE).load()
    own = Ed25519PrivateKey.generate().private_bytes_raw()
    KeyFileProvider(settings.MNVAULT_KEY_FILE).save(replace(material, signing_seed=own))
    keys.forget()
    AuditEntry.objects.filter(seq=K).update(purpose="social_insurance")
    rewrite_consistently(1, mac_key=signing.mac_key())
    resign_everything()

    settings.MNVAULT_SIGNING_KEY_FILE = real
    keys.forget()
    failed(None, "database checkpoint", "signature does not hold")
    AuditCheckpoint.objects.all().delete()
    failed(None, "audit-checkpoints.jsonl line 1", "signature does not hold")
    checkpoint_path().unlink()
    failed(1, "entry #1 has a MAC that does not hold")


def test_b_re_signing_with_the_key_file_holds_when_the_key_is_not_apart(scene):
    """Documented (docs/threat-model.md): by default the signing key is in the key file, in
    the data directory, so whoever holds the directory holds every key (level c)."""
    AuditEntry.objects.filter(seq=K).update(purpose="social_insurance")
    rewrite_consistently(K, mac_key=signing.mac_key())
    resign_everything()
    result = verify_in_english()
    assert result.ok, result.message


# --- (c) every key -----------------------------------------------------------------------------


def test_c_a_rewrite_re_signed_with_every_key_holds(scene):
    """Documented (docs/threat-model.md): with every key, the log can be rewritten and signed
    again; only what is outside it can tell (the data it speaks of, below, or a witness)."""
    AuditEntry.objects.filter(seq=K).update(purpose="social_insurance")
    rewrite_consistently(K, mac_key=real_mac_key())
    failed(CHAIN_LENGTH, "rewritten")  # until the checkpoints are signed again
    resign_everything()
    assert verify_in_english().ok
    erase_entries(T)
    result = verify_in_english()
    assert result.ok, result.message
    assert result.entries == LAST - 1


# --- the data the log speaks of ----------------------------------------------------------------

IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


@pytest.fixture
def with_numbers(personas, employee, make_number):
    log_role_grants(personas)
    store_number(
        acting_user=personas.handler,
        person=employee,
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    assert verify_in_english().ok
    return employee


def test_total_wipe_with_numbers_present_is_caught(with_numbers, personas):
    """Every entry, the head, every checkpoint and the file gone: the stored number still
    says a store happened."""
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()
    AuditCheckpoint.objects.all().delete()
    checkpoint_path().unlink()
    result = failed(None, "has no audit entry")  # the roles' grants are gone too
    assert result.entries == 0
    # Even a forger who logs the roles again and starts a new file with the key in hand:
    log_role_grants(personas)
    write_genesis()
    failed(None, f"the number stored for person {with_numbers.pk}", "has no audit entry")


def test_c_erased_store_entry_is_caught_by_the_number_it_stored(with_numbers):
    store = AuditEntry.objects.get(action=Action.NUMBER_STORE)
    erase_entries(store.seq)
    failed(None, f"the number stored for person {with_numbers.pk}", "no audit entry")


def test_c_erased_role_grant_is_caught_by_the_role(with_numbers, personas):
    grant = AuditEntry.objects.filter(
        action=Action.ACCOUNTS_ROLE_GRANT, detail__user_id=personas.handler.pk
    ).get()
    erase_entries(grant.seq)
    failed(None, f"the role handler of user {personas.handler.pk}", "grant")


def test_cut_tail_holding_a_store_is_caught_by_the_number(with_numbers):
    """The cut that the database alone can make (the entries since the last checkpoint) is
    caught after all when one of them stored a number that is still there."""
    write_checkpoint()
    store = AuditEntry.objects.get(action=Action.NUMBER_STORE)
    AuditCheckpoint.objects.filter(seq__gte=store.seq).delete()
    AuditEntry.objects.filter(seq__gte=store.seq).delete()
    set_head_to_last()
    lines = checkpoint_lines(checkpoint_path())
    checkpoint_path().write_text(lines[0] + "\n", encoding="utf-8")
    failed(None, f"the number stored for person {with_numbers.pk}")


# --- a fresh installation ----------------------------------------------------------------------


def test_a_fresh_installation_verifies(settings, tmp_path):
    """Nothing logged yet and no checkpoint file at all (before `mnvault init` writes its
    genesis): there is nothing to vouch for, so the log holds."""
    settings.MNVAULT_CHECKPOINT_FILE = tmp_path / "never-written.jsonl"
    result = verify_in_english()
    assert result.ok, result.message
    assert (result.entries, result.checkpoints) == (0, 0)


def test_genesis_is_written_once(tmp_path):
    path = tmp_path / "new.jsonl"
    first = write_genesis(path)
    assert first is not None and first.is_genesis
    assert write_genesis(path) is None
    assert [cp.seq for cp in read_file(path).checkpoints] == [0]


def test_a_log_with_entries_but_no_checkpoint_anywhere_is_caught(settings, tmp_path):
    settings.MNVAULT_CHECKPOINT_FILE = tmp_path / "never-written.jsonl"
    with transaction.atomic():
        record(actor=Actor.system("test"), action=Action.AUDIT_VERIFY)
    failed(None, "the checkpoint file", "is missing")
