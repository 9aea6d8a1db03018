"""An auditor verifies an exported audit log on a machine of their own: the real ``mnvault``
script, with no installation there, only the export and the key they were given."""

from __future__ import annotations

import json
import re

import pytest

from mnvault.cli.tests.runner import ENGLISH, NOT_INITIALISED_EN, Installation

pytestmark = pytest.mark.slow


def test_an_export_is_verified_on_a_machine_without_an_installation(with_demo, tmp_path):
    installation, _demo = with_demo
    exported = installation.root / "audit-export.jsonl"
    done = installation.run("audit", "export", "--to", str(exported), env=ENGLISH)
    assert re.search(r"Exported \d+ entries and \d+ signed checkpoints", done.out), done.out
    key = installation.run("audit", "public-key", env=ENGLISH).out
    fingerprint = re.search(r"Fingerprint: (SHA256:\S+)", key)
    assert fingerprint, key

    auditor = Installation(tmp_path / "auditor")
    auditor.root.mkdir()
    (auditor.root / "export.jsonl").write_bytes(exported.read_bytes())
    (auditor.root / "key.txt").write_text(key, encoding="utf-8")
    args = ("audit", "verify", "--export", "export.jsonl", "--public-key", "key.txt")
    result = auditor.run(*args, env=ENGLISH)
    assert f"Verifying with the key {fingerprint[1]}" in result.out
    assert re.search(r"OK: \d+ entries in export.jsonl, chain intact", result.out), result.out
    assert not auditor.data.exists(), "verifying must not create an installation"

    lines = (auditor.root / "export.jsonl").read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if '"type": "entry"' in line) + 1
    entry = json.loads(lines[number - 1])
    lines[number - 1] = json.dumps({**entry, "actor_label": "someone else"}, sort_keys=True)
    (auditor.root / "export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    failed = auditor.run(*args, env=ENGLISH, expect=1)
    assert f"FAILED: export.jsonl line {number}: entry #1 was altered" in failed.err

    # Every other audit command still needs the installation.
    refused = auditor.run("audit", "verify", env=ENGLISH, expect=2)
    assert NOT_INITIALISED_EN in refused.err
