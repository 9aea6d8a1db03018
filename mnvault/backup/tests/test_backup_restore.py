"""Backup and restore through the real command line (issue 13): the round trip, disposed numbers
that stay disposed, nothing readable in the archive without the private key, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest

from mnvault.cli.tests.runner import ENGLISH, Installation

# Run inside an installation: each person's number opened in memory and printed only as a
# digest per person id (never a number), or "x" when it cannot be opened.
DIGESTS = """
import hashlib, json, django
django.setup()
from mnvault.vault import api, keys
from mnvault.vault.models import NumberRecord
keys.unlock(interactive=False)
out = {}
for record in NumberRecord.objects.select_related("person").order_by("person_id"):
    try:
        number = api.open_number(record.person, api.Field.NUMBER, record.ciphertext)
        out[record.person_id] = hashlib.sha256(number.encode()).hexdigest()
    except Exception:
        out[record.person_id] = "x:" + record.status
print(json.dumps(out))
"""

# The numbers themselves, for the scan of the archive's bytes (kept in the test's memory).
NUMBERS = """
import json, django
django.setup()
from mnvault.vault import api, keys
from mnvault.vault.models import NumberRecord
keys.unlock(interactive=False)
import sys
rows = NumberRecord.objects.select_related("person").exclude(ciphertext=None)
numbers = [api.open_number(r.person, api.Field.NUMBER, r.ciphertext) for r in rows]
sys.stdout.write(json.dumps(numbers))
"""

RESTORE_ENTRY = """
import json, django
django.setup()
from mnvault.audit.models import AuditEntry
print(json.dumps(AuditEntry.objects.filter(action="backup.restore").get().detail))
"""

REAPPLIED = """
import json, django
django.setup()
from mnvault.audit.models import AuditEntry
found = AuditEntry.objects.filter(action="disposal.shred", detail__reapplied=True)
print(json.dumps([e.person_id for e in found if e.detail.get("certificate")]))
"""

DISPOSE = """
import sys, django
django.setup()
from mnvault.audit.actors import Actor
from mnvault.vault import keys
from mnvault.people.models import Person
from mnvault.retention import services
from mnvault.retention.models import BatchStatus, DisposalBatch
from mnvault.accounts.models import User
keys.unlock(interactive=False)
ids = [int(pk) for pk in sys.argv[2:]]
people = list(Person.objects.filter(pk__in=ids))
proposer = Actor.of(User.objects.get(username=sys.argv[1]))
batch = services.propose(acting_user=proposer, company=people[0].company,
                         people=people, early_reasons={p.pk: "本人からの削除請求" for p in people})
DisposalBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.APPROVED)
print(services.dispose(batch, actor=Actor.system("test-approver")))
"""


def data_manifest_time(backed_up) -> str:
    """The backup's time as the backup command's own audit entry gave it."""
    inst = backed_up[0]
    code = RESTORE_ENTRY.replace("backup.restore", "backup.create")
    return json.dumps(json.loads(inst.python(code).out)["taken_at"])


def empty(root: Path) -> Installation:
    root.mkdir()
    return Installation(root)


def digests(inst: Installation) -> dict[str, str]:
    return json.loads(inst.python(DIGESTS).out)


def key_pair(inst: Installation) -> Path:
    out = inst.run("backup", "init-key", env=ENGLISH).out
    private = next(line for line in out.splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    assert private not in (inst.data / "backup-recipient.txt").read_text()
    path = inst.root / "backup-private.txt"
    path.write_text(private + "\n")
    return path


def take_backup(inst: Installation, to: Path) -> tuple[Path, Path]:
    before = set(to.glob("*.age")) if to.exists() else set()
    inst.run("backup", "--to", str(to), env=ENGLISH)
    made = sorted(set(to.glob("*.age")) - before)
    data = next(p for p in made if p.name.startswith("mnvault-data-"))
    keys = next(p for p in made if p.name.startswith("mnvault-keys-"))
    return data, keys


def restore(
    source: Installation,
    target: Installation,
    data: Path,
    keys: Path,
    private: Path,
    *extra: str,
    expect: int = 0,
):
    return target.run(
        "restore",
        str(data),
        "--keys",
        str(keys),
        "--private-key",
        str(private),
        "--key-file",
        str(source.key_file),
        *extra,
        env=ENGLISH,
        expect=expect,
    )


@pytest.fixture
def backed_up(with_demo, tmp_path):
    inst, _demo = with_demo
    private = key_pair(inst)
    data, keys = take_backup(inst, tmp_path / "backups")
    return inst, private, data, keys


def test_it_restores_every_number_and_an_intact_audit_log(backed_up, tmp_path):
    inst, private, data, keys = backed_up
    restored = empty(tmp_path / "restored")
    restore(inst, restored, data, keys, private)
    original = digests(inst)
    assert len(original) >= 30 and not any(v.startswith("x") for v in original.values())
    assert digests(restored) == original
    verify = restored.run("audit", "verify", env=ENGLISH)
    assert "OK" in verify.out
    entry = restored.python(RESTORE_ENTRY).out
    assert json.loads(entry)["backup_of"] == json.loads(data_manifest_time(backed_up))


def test_a_number_disposed_after_the_backup_stays_disposed(backed_up, with_demo, tmp_path):
    manager = with_demo[1].users["responsible_manager"][0]
    inst, private, data, keys = backed_up
    before = digests(inst)
    # Three people without dependents (a disposal takes an employee's dependents with it).
    gone = sorted(before, key=int)[-3:]
    inst.python(DISPOSE, manager, *gone)
    journal = inst.data / "disposal-journal.jsonl"
    assert [json.loads(line)["people"] for line in journal.read_text().splitlines()]
    restored = empty(tmp_path / "restored")
    out = restore(inst, restored, data, keys, private, "--journal", str(journal)).out
    assert "3 disposed people re-applied" in out
    after = digests(restored)
    assert {pk for pk, v in after.items() if v.startswith("x")} == set(gone)
    assert all(after[pk] == "x:disposed" for pk in gone)
    assert {pk: v for pk, v in after.items() if pk not in gone} == {
        pk: v for pk, v in before.items() if pk not in gone
    }
    restored.run("audit", "verify", env=ENGLISH)
    # Each re-applied disposal is in the restored log, under its batch and certificate.
    assert sorted(json.loads(restored.python(REAPPLIED).out)) == sorted(int(pk) for pk in gone)


def test_the_archive_holds_nothing_in_clear_and_needs_the_private_key(backed_up, tmp_path):
    inst, _private, data, keys = backed_up
    numbers = json.loads(inst.python(NUMBERS).out)
    key_file = inst.key_document()
    secrets = [n.encode() for n in numbers] + [
        str(v).encode() for v in key_file.values() if isinstance(v, str) and len(v) > 20
    ]
    assert numbers and secrets
    for archive in (data, keys):
        blob = archive.read_bytes()
        assert blob.startswith(b"age-encryption.org/v1")
        assert not any(secret in blob for secret in secrets)
        assert b"SQLite format 3" not in blob
    other = empty(tmp_path / "other")
    wrong = tmp_path / "wrong-key.txt"
    wrong.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
    refused = restore(inst, other, data, keys, wrong, expect=1)
    assert "was not encrypted to this private key" in refused.err
    assert not other.data.exists() or not any(other.data.iterdir())


def test_a_truncated_archive_is_refused(backed_up, tmp_path):
    inst, private, data, keys = backed_up
    cut = tmp_path / "cut.age"
    cut.write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])
    target = empty(tmp_path / "target")
    refused = restore(inst, target, cut, keys, private, expect=1)
    assert "truncated or altered" in refused.err
    assert not target.data.exists() or not any(target.data.iterdir())


def test_restore_refuses_a_non_empty_directory(backed_up):
    inst, private, data, keys = backed_up
    before = digests(inst)
    refused = restore(inst, inst, data, keys, private, expect=1)
    assert "is not empty" in refused.err
    assert digests(inst) == before


# Entries logged after the backup, and a checkpoint of them: what the restore loses.
MORE_ENTRIES = """
import django
django.setup()
from django.db import transaction
from mnvault.audit import log
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.vault import keys
keys.unlock(interactive=False)
for i in range(5):
    with transaction.atomic():
        log.record(actor=Actor.system("after-backup"), action=Action.PEOPLE_UPDATE, detail={"i": i})
print(write_checkpoint().seq)
"""


def test_a_surviving_checkpoint_file_verifies_through_the_signed_restore(backed_up, tmp_path):
    """The checkpoint file on other storage ran past the backup: the restore's signed line and
    entry let ``audit verify`` pass, and deleting one more entry is still caught."""
    inst, private, data, keys = backed_up
    lost_to = int(inst.python(MORE_ENTRIES).out)
    surviving = tmp_path / "nas" / "audit-checkpoints.jsonl"
    surviving.parent.mkdir()
    surviving.write_bytes(inst.data.joinpath("audit-checkpoints.jsonl").read_bytes())
    restored = Installation(tmp_path / "restored", {"MNVAULT_CHECKPOINT_FILE": str(surviving)})
    restored.root.mkdir()
    restore(inst, restored, data, keys, private)
    entry = json.loads(restored.python(RESTORE_ENTRY).out)
    head = entry["head"]
    assert head < lost_to and entry["lost_after"] == head and entry["lost_to"] == lost_to
    marks = [json.loads(x) for x in surviving.read_text().splitlines() if '"restore"' in x]
    assert [(m["head_seq"], m["lost_to"]) for m in marks] == [(head, lost_to)]
    verify = restored.run("audit", "verify", env=ENGLISH)
    assert f"restored from a backup at entry #{head}" in verify.out
    with restored.connect("mnvault.sqlite3") as db:
        db.execute("DELETE FROM audit_auditentry WHERE seq = ?", (head,))
    caught = restored.run("audit", "verify", env=ENGLISH, expect=1)
    assert f"entry #{head} is missing" in caught.err


def forged_archive(inst: Installation, to: Path, kind: str, members: dict[str, bytes]) -> Path:
    """An archive encrypted to the installation's backup key, with the members given: what a
    damaged backup that still decrypts looks like."""
    from mnvault.backup.archive import recipient_from, write_archive

    recipient = recipient_from((inst.data / "backup-recipient.txt").read_text())
    manifest = {"format": "mnvault-backup", "version": 1, "kind": kind, "head": 1}
    write_archive({**manifest, "taken_at": "2026-11-29T00:00:00+00:00"}, members, recipient, to)
    return to


def test_a_restore_that_fails_after_writing_takes_everything_back(backed_up, tmp_path):
    """The data archive decrypts but its database is not one: the restore has written the key
    file and the database when the migrations fail. All of it is removed again, and the same
    directory then takes the good backup."""
    inst, private, data, keys = backed_up
    damaged = forged_archive(
        inst, tmp_path / "damaged.age", "data", {"mnvault.sqlite3": b"not a database" * 100}
    )
    target = empty(tmp_path / "target")
    restore(inst, target, damaged, keys, private, expect=1)
    assert not target.data.exists() or not any(target.data.iterdir())
    restore(inst, target, data, keys, private)
    assert digests(target) == digests(inst)
