"""What the tamper tests do to an installation, as someone who reaches its database, its data
directory or its keys would (docs/threat-model.md). Shared by ``test_tamper.py`` and
``test_tamper_access.py``."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import translation

from mnvault.audit import signing
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.log import entry_hash, hashed_fields, record
from mnvault.audit.models import GENESIS_HASH, AuditEntry, AuditHead, Outcome
from mnvault.audit.verify import VerifyResult, verify

CHAIN_LENGTH = 20
K = 7  # the entry tampered with, in the middle of the chain
OUTCOMES = [Outcome.OK, Outcome.OK, Outcome.REFUSED, Outcome.FAILED]
ACTIONS = [Action.NUMBER_STORE, Action.PEOPLE_UPDATE, Action.COLLECTION_APPROVE]


def append(count: int, start: int = 0) -> None:
    """Entries as the application writes them: each in its own transaction, varied fields."""
    actor = Actor.system("test")
    for i in range(start, start + count):
        with transaction.atomic():
            record(
                actor=actor,
                action=ACTIONS[i % len(ACTIONS)],
                outcome=OUTCOMES[i % len(OUTCOMES)],
                company_id=1 + i % 2,
                person_id=100 + i,
                purpose="withholding" if i % 2 else "",
                reason="" if i % 4 < 2 else "no_purpose",
                client_address=f"192.0.2.{i}",
                detail={"i": i, "note": "テスト", "rows": [i, str(i)]},
            )


def verify_in_english(**options) -> VerifyResult:
    """``verify`` with its messages in English, the language the assertions are written in
    (the command line speaks Japanese unless told otherwise)."""
    with translation.override("en"):
        return verify(**options)


def failed(expected_seq: int | None, *words: str, **options) -> VerifyResult:
    """Run verify and check it failed at ``expected_seq`` with a message naming ``words``."""
    result = verify_in_english(**options)
    assert not result.ok, "tampering went unnoticed"
    assert result.first_bad_seq == expected_seq, result.message
    for word in words:
        assert word in result.message, result.message
    return result


def real_mac_key() -> bytes:
    return signing.mac_key()


def rewrite_consistently(from_seq: int, *, mac_key: bytes | None = None) -> None:
    """What an attacker who knows the hash scheme does after editing: recompute every later hash
    and the head, so that the chain alone holds again. With ``mac_key`` (someone holding the
    signing key) the MACs are made again too; without it they are left as they were."""
    prev = AuditEntry.objects.get(seq=from_seq - 1).entry_hash if from_seq > 1 else GENESIS_HASH
    last = from_seq - 1
    for row in AuditEntry.objects.filter(seq__gte=from_seq).order_by("seq").values():
        digest = entry_hash(prev, hashed_fields(row))
        fields = {"prev_hash": prev, "entry_hash": digest}
        if mac_key is not None:
            fields["mac"] = signing.mac(mac_key, row["seq"], digest)
        AuditEntry.objects.filter(pk=row["id"]).update(**fields)
        prev, last = digest, row["seq"]
    AuditHead.objects.filter(pk=1).update(seq=last, entry_hash=prev)


def set_head_to_last() -> None:
    last = AuditEntry.objects.latest("seq")
    AuditHead.objects.filter(pk=1).update(seq=last.seq, entry_hash=last.entry_hash)


def renumber(seq: int, new_seq: int) -> None:
    AuditEntry.objects.filter(seq=seq).update(seq=new_seq)


def checkpoint_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def resign_everything() -> None:
    """What someone holding the signing key does after a rewrite: drop every checkpoint, in
    the database and the file, and sign the rewritten log afresh from a new genesis line."""
    from django.conf import settings

    from mnvault.audit.checkpoints import write_checkpoint, write_genesis
    from mnvault.audit.models import AuditCheckpoint

    AuditCheckpoint.objects.all().delete()
    Path(settings.MNVAULT_CHECKPOINT_FILE).unlink(missing_ok=True)
    write_genesis()
    write_checkpoint()


def erase_entries(*seqs: int) -> None:
    """Remove entries without a trace, as someone holding the database, the data directory and
    every key can: delete them, close the gaps, re-hash and re-MAC what follows, fix the head,
    and sign the result again. Only what lies outside the log (the data it speaks of, a
    witness) can tell."""
    AuditEntry.objects.filter(seq__in=seqs).delete()
    for new_seq, entry in enumerate(AuditEntry.objects.order_by("seq"), start=1):
        if entry.seq != new_seq:
            renumber(entry.seq, new_seq)
    rewrite_consistently(min(seqs), mac_key=real_mac_key())
    resign_everything()
