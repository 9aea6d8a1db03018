"""Appending to the audit log: the chain, the transaction rule and the guard that keeps numbers
out of the log (docs/architecture.md, "Audit log"; invariant 1)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from stdnum.jp import in_

from mnvault.audit import signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.audit.log import entry_hash, hashed_fields, record
from mnvault.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEntry, AuditHead, Outcome
from mnvault.audit.verify import verify
from mnvault.conftest import ALL_DATABASES
from mnvault.domain import numbers
from mnvault.vault import keys

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ACTOR = Actor.system("test")
ACTION = Action.AUDIT_VERIFY  # any action will do
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _append(**fields) -> AuditEntry:
    """One entry in its own transaction, as every caller of ``record`` does."""
    with transaction.atomic():
        return record(actor=ACTOR, action=fields.pop("action", ACTION), **fields)


def _grouped(number: str, separator: str) -> str:
    """The number as people write it: 4-4-4 groups."""
    return separator.join([number[:4], number[4:8], number[8:]])


def _digest(label: int) -> str:
    """A SHA-256 hex digest, as the CSV import puts in ``detail`` (``file_sha256``)."""
    return hashlib.sha256(f"mnvault-audit-test-{label}".encode()).hexdigest()


# How a number may be written in text. Each form is one that the input paths accept as a number
# (numbers.validate), so each must be kept out of the log.
NUMBER_FORMS: dict[str, Callable[[str], str]] = {
    "half-width": lambda n: n,
    "full-width": lambda n: n.translate(_FULL_WIDTH),
    "spaces": lambda n: _grouped(n, " "),
    "hyphens": lambda n: _grouped(n, "-"),
    "full-width with full-width hyphens": lambda n: _grouped(n.translate(_FULL_WIDTH), "－"),
    "ideographic spaces": lambda n: _grouped(n, "\u3000"),
    "inside a sentence": lambda n: f"本人の番号は{_grouped(n, '-')}です",
}

# Where a caller might put it by mistake: every text field the hash covers goes through the guard.
PLACES: dict[str, Callable[[str], dict]] = {
    "reason": lambda text: {"reason": text},
    "detail value": lambda text: {"detail": {"note": text}},
    "detail key": lambda text: {"detail": {text: 1}},
    "nested detail": lambda text: {"detail": {"rows": [{"memo": text}]}},
}


def test_entries_chain_from_genesis_with_consecutive_seq():
    """Each entry holds the hash of the one before, so no entry can be changed unnoticed."""
    written = [_append(detail={"i": i}, company_id=i) for i in range(6)]

    rows = list(AuditEntry.objects.order_by("seq").values())
    assert [row["seq"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    prev = GENESIS_HASH
    for row in rows:
        assert row["prev_hash"] == prev
        # The stored hash is the hash of what came back from the database, not of what was sent.
        assert row["entry_hash"] == entry_hash(prev, hashed_fields(row))
        prev = row["entry_hash"]
    assert [e.entry_hash for e in written] == [row["entry_hash"] for row in rows]
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.entry_hash) == (6, prev)


def test_hash_covers_every_field_of_the_entry():
    """A field left out of the hash could be edited without breaking the chain."""
    hashed = set(hashed_fields(_append().__dict__))
    stored = {f.attname for f in AuditEntry._meta.concrete_fields}
    assert stored - hashed == {"id", "prev_hash", "entry_hash", "mac"}


def test_every_entry_gets_a_mac_at_commit_under_the_signing_key():
    """The MAC is what makes re-hashing the entries after the last checkpoint fail: it is
    made from the signing key, which is not in the database."""
    for i in range(3):
        _append(detail={"i": i})
    key = signing.mac_key_of(keys.signing_key())
    other = signing.mac_key_of(Ed25519PrivateKey.generate())
    for seq, digest, stored in AuditEntry.objects.values_list("seq", "entry_hash", "mac"):
        assert stored == signing.mac(key, seq, digest)
        assert stored != signing.mac(other, seq, digest)
        assert stored != signing.mac(key, seq + 1, digest)


def test_entry_records_who_what_and_outcome():
    entry = _append(
        action="number.reveal",
        outcome=Outcome.REFUSED,
        company_id=3,
        person_id=7,
        purpose="withholding",
        reason="purpose_not_notified_to_person",
        client_address="192.0.2.10",
        detail={"document": "源泉徴収票"},
    )
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert (stored.actor_kind, stored.actor_id, stored.actor_label) == ("system", None, "test")
    assert (stored.company_id, stored.person_id, stored.outcome) == (3, 7, "refused")
    assert stored.detail == {"document": "源泉徴収票"}


def test_rolled_back_action_leaves_no_entry_and_no_gap():
    """The entry commits or rolls back with the action, and the next one takes its place."""
    _append()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record(actor=ACTOR, action=Action.DEMO_CREATE)
        _ = 1 / 0
    after = _append()

    assert after.seq == 2
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [ACTION, ACTION]
    assert verify().ok


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_record_outside_a_transaction_raises():
    """An entry written on its own could survive an action that rolled back, or the reverse."""
    with pytest.raises(RuntimeError, match="transaction"):
        record(actor=ACTOR, action=ACTION)
    assert not AuditEntry.objects.exists()
    assert list(AuditHead.objects.values_list("seq", flat=True)) in ([], [0])


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("form", NUMBER_FORMS)
def test_entry_holding_a_number_is_refused_and_nothing_is_written(make_number, form, place):
    _append()  # so that a refused write would show as a changed head, too
    number = make_number()
    text = NUMBER_FORMS[form](number)
    if form != "inside a sentence":
        assert numbers.validate(text) == number

    with pytest.raises(ValueError, match="individual number") as refused:
        _append(**PLACES[place](text))

    assert number not in str(refused.value)
    assert AuditEntry.objects.count() == 1
    assert AuditHead.objects.get(pk=1).seq == 1
    assert verify().ok


def test_number_in_actor_label_or_client_address_is_refused(make_number):
    number = make_number()
    with pytest.raises(ValueError), transaction.atomic():
        record(actor=Actor.system(number), action=ACTION)
    with pytest.raises(ValueError):
        _append(client_address=_grouped(number, " "))
    with pytest.raises(ValueError):
        _append(detail={"n": int(number)})
    assert not AuditEntry.objects.exists()


def test_refused_entry_does_not_break_the_chain(make_number):
    """The guard refuses before taking the head, so the writer after it carries on at seq 2."""
    _append()
    with pytest.raises(ValueError):
        _append(reason=make_number())
    assert _append().seq == 2
    assert verify().ok


def test_twelve_digits_with_a_wrong_check_digit_are_accepted(make_number):
    """Ids, phone and account numbers may have 12 digits; only a valid number is refused."""
    number = make_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not in_.is_valid(wrong)

    entry = _append(reason=wrong, detail={"ref": _grouped(wrong, "-"), "n": int(wrong)})

    assert AuditEntry.objects.get(seq=entry.seq).reason == wrong


@pytest.mark.parametrize(
    "label",
    [
        0,  # no run of 12 decimal digits at all
        18,  # holds the 12-digit run 908842680735, whose check digit is wrong
    ],
)
def test_sha256_digest_is_accepted(label):
    """Document and file digests go in ``detail``; they are not numbers."""
    digest = _digest(label)
    entry = _append(detail={"file_sha256": digest}, reason=digest)
    assert AuditEntry.objects.get(seq=entry.seq).detail == {"file_sha256": digest}


def test_hex_digest_holding_a_valid_looking_run_is_refused():
    """The guard errs on the side of refusing: a run of twelve digits between hex letters that
    has a valid check digit could be a number glued to other text. This is why digests go into
    audit entries in base64 (the CSV import does so)."""
    digest = _digest(88)
    run = "149301258376"  # twelve decimal digits between hex letters
    assert f"d{run}d" in digest
    assert in_.is_valid(run)
    with pytest.raises(ValueError):
        _append(detail={"file_sha256": digest})
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "separator",
    ["\u2010", "\u2212", "\u2013", "  ", " - "],
    ids=["hyphen U+2010", "minus U+2212", "en dash", "two spaces", "spaced hyphen"],
)
def test_number_with_other_separators_is_refused(make_number, separator):
    number = make_number()
    text = _grouped(number, separator)
    assert numbers.validate(text) == number  # an input path would take it as this number

    with pytest.raises(ValueError):
        _append(reason=text)
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "日本語 and ASCII",
        12345678901234567890,  # beyond 64 bits
        True,
        None,
        [1, "1", [2]],
        {"b": 1, "a": {"z": [], "y": {}}},
    ],
    ids=repr,
)
def test_detail_survives_the_database_round_trip(value):
    """The hash is of the entry as the database gives it back (jsonb reorders keys), so an honest
    entry must verify whatever its detail holds."""
    _append(detail={"v": value})
    result = verify()
    assert result.ok, result.message


@pytest.mark.parametrize("value", [1e16, 1.5e300, -0.0, 0.1, {"nested": [1.0]}], ids=repr)
def test_float_detail_is_refused(value):
    """PostgreSQL's jsonb gives 1e16 back as an integer and -0.0 as 0.0, so a float would make
    an honest entry fail verification; ``record`` refuses floats instead."""
    with pytest.raises(TypeError):
        _append(detail={"v": value})
    assert not AuditEntry.objects.exists()


def test_verify_on_an_empty_log_is_ok():
    result = verify()
    assert result.ok, result.message
    assert (result.entries, result.checkpoints, result.first_bad_seq) == (0, 0, None)


def test_nothing_to_sign_on_an_empty_log(settings):
    """The file holds its genesis line only (written as the installation was made)."""
    genesis = settings.MNVAULT_CHECKPOINT_FILE.read_bytes()
    assert write_checkpoint() is None
    assert settings.MNVAULT_CHECKPOINT_FILE.read_bytes() == genesis
    assert not AuditCheckpoint.objects.exists()
