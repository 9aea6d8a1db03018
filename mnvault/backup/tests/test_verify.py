"""``mnvault backup verify`` (the restore drill) and the scheduled daily backup, in a real
installation through the command line: the drill restores into a temporary directory that is
gone afterwards, opens a sample without printing a number, and is audited."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyrage

from mnvault.backup.tests.test_backup_restore import (
    NUMBERS,
    backed_up,
    key_pair,
)
from mnvault.cli.tests.runner import ENGLISH

__all__ = ["backed_up"]

VERIFIED = """
import json, django
django.setup()
from mnvault.audit.models import AuditEntry
from mnvault.backup.models import BackupRun
entries = AuditEntry.objects.filter(action="backup.verify").order_by("seq")
runs = BackupRun.objects.filter(kind="verify").order_by("pk")
backups = BackupRun.objects.filter(kind="backup").order_by("pk")
print(json.dumps({"entries": [[e.outcome, e.detail] for e in entries],
                  "runs": [r.outcome for r in runs],
                  "backups": [sorted(r.files) for r in backups]}))
"""

DAILY = """
import json, sys, django
django.setup()
from datetime import datetime, timedelta, UTC
from mnvault.backup import schedule
from mnvault.backup.models import BackupRun
start = datetime(2026, 11, 28, 16, 59, tzinfo=UTC)  # 01:59 in Tokyo
out = []
for minutes in (0, 6, 60):
    run = schedule.daily_backup(now=start + timedelta(minutes=minutes))
    out.append(None if run is None else [run.outcome, run.files])
print(json.dumps(out))
"""


def drill(inst, data: Path, keys: Path, private: Path, tmp: Path, expect: int = 0):
    tmp.mkdir(exist_ok=True)
    env = {**ENGLISH, "TMPDIR": str(tmp)}
    args = ["backup", "verify", str(data), "--keys", str(keys), "--private-key", str(private)]
    return inst.run(*args, env=env, expect=expect, timeout=300)


def test_the_drill_restores_verifies_and_opens_a_sample_then_cleans_up(backed_up, tmp_path):
    inst, private, data, keys = backed_up
    done = drill(inst, data, keys, private, tmp_path / "tmp")
    assert "restored: yes" in done.out and "audit log verified: yes" in done.out
    assert "numbers opened: 20 of 20 sampled" in done.out
    assert "The restore drill passed" in done.out
    numbers = json.loads(inst.python(NUMBERS).out)
    assert numbers and not any(n in done.out + done.err for n in numbers)
    assert list((tmp_path / "tmp").iterdir()) == []  # the restored copy is gone
    found = json.loads(inst.python(VERIFIED).out)
    assert found["runs"] == ["ok"]
    assert [data.name, keys.name] == found["backups"][0][1:]  # the backup by hand, recorded
    [[outcome, detail]] = found["entries"]
    assert outcome == "ok"
    assert (detail["sampled"], detail["opened"], detail["audit_verified"]) == (20, 20, True)
    assert detail["archive"] == data.name
    inst.run("audit", "verify", env=ENGLISH)  # the live log is intact after the drill


def test_a_drill_with_the_wrong_key_or_a_damaged_archive_fails_plainly(backed_up, tmp_path):
    inst, _private, data, keys = backed_up
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
    refused = drill(inst, data, keys, wrong, tmp_path / "tmp", expect=1)
    assert "was not encrypted to this private key" in refused.err
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_drill_without_the_key_store_fails_and_is_recorded(backed_up, tmp_path):
    inst, private, data, _keys = backed_up
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**ENGLISH, "TMPDIR": str(tmp)}
    args = ["backup", "verify", str(data), "--private-key", str(private)]
    done = inst.run(*args, env=env, expect=1, timeout=300)
    assert "numbers opened: 0 of 20 sampled" in done.out
    assert "The restore drill failed" in done.err
    found = json.loads(inst.python(VERIFIED).out)
    assert found["runs"] == ["failed"]
    assert found["entries"][0][0] == "failed"
    assert list(tmp.iterdir()) == []


def test_the_scheduled_backup_runs_once_after_its_time(with_demo, tmp_path):
    inst, _demo = with_demo
    key_pair(inst)
    backups = tmp_path / "backups"
    env = {"MNVAULT_BACKUP_DIR": str(backups), "MNVAULT_BACKUP_AT": "02:00"}
    before_at, at, later = json.loads(inst.python(DAILY, env=env).out)
    assert before_at is None and later is None
    outcome, files = at
    assert outcome == "ok"
    assert sorted(os.listdir(backups)) == sorted(files)
    assert {name.split("-")[1] for name in files} == {"data", "keys", "checkpoints"}
    for name, recorded in files.items():
        assert (backups / name).stat().st_size == recorded["size"]
