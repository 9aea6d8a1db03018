"""A backup taken while reveals and imports run restores to a consistent state (issue 13): the
data is snapshotted first and the key store after it, and every write stores its data key in
the key store before the data commits, so each restored number has its key and the restored
log verifies."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from mnvault.backup.tests.test_backup_restore import (
    digests,
    empty,
    key_pair,
    restore,
    take_backup,
)
from mnvault.cli.tests.runner import ENGLISH, MNVAULT, Installation, write_csv
from mnvault.domain import numbers

# Reveals by the demo handler, one transaction and one audit entry each, until told to stop.
REVEALS = """
import random, sys, time, django
from pathlib import Path
django.setup()
from mnvault.accounts.models import User
from mnvault.people.models import Person
from mnvault.vault import keys
from mnvault.vault.services import reveal_number
keys.unlock(interactive=False)
handler = User.objects.get(username=sys.argv[1])
people = list(Person.objects.filter(number_record__isnull=False))
stop, done, rng = Path(sys.argv[2]), 0, random.Random(7)
while not stop.exists():
    try:
        reveal_number(acting_user=handler, person=rng.choice(people), purpose="withholding")
    except Exception:
        pass  # a refusal (the hourly limit) is audited too: still a write
    done += 1
print(done)
"""


def _imports(inst: Installation, demo, directory: Path, stop: threading.Event) -> list[int]:
    """``mnvault import people`` of 10 new people at a time until stopped; exit statuses."""
    rng, statuses, batch = random.Random(99), [], 0
    while not stop.is_set():
        rows = [
            [f"C{batch:02d}{i:02d}", "山田", "太郎", "ヤマダ", "タロウ", "1980-01-01",
             numbers.generate_fake(rng)]
            for i in range(10)
        ]  # fmt: skip
        path = write_csv(directory / f"batch-{batch}.csv", rows)
        done = subprocess.run(
            [str(MNVAULT), "import", "people", str(path), "--company", str(demo.company_id),
             "--user", demo.users["handler"][0]],
            env=inst.env(), cwd=inst.root, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        statuses.append(done.returncode)
        path.unlink()
        batch += 1
    return statuses


def test_a_backup_taken_during_reveals_and_imports_restores_consistently(with_demo, tmp_path):
    inst, demo = with_demo
    private = key_pair(inst)
    stop_file, stop = tmp_path / "stop", threading.Event()
    reveals = subprocess.Popen(
        [sys.executable, "-c", REVEALS, demo.users["handler"][0], str(stop_file)],
        env=inst.env(), cwd=inst.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    statuses: list[int] = []
    worker = threading.Thread(
        target=lambda: statuses.extend(_imports(inst, demo, tmp_path, stop)), daemon=True
    )
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while not statuses and not (tmp_path / "batch-1.csv").exists():
            assert time.monotonic() < deadline, "the imports never started"
            time.sleep(0.2)
        taken = [take_backup(inst, tmp_path / "backups") for _ in range(2)]
    finally:
        stop.set()
        stop_file.touch()
        worker.join(timeout=300)
        out, err = reveals.communicate(timeout=120)
    assert reveals.returncode == 0, err.decode()
    assert int(out) > 0 and statuses and set(statuses) == {0}
    counts = []
    for index, (data, keys) in enumerate(taken):
        restored = empty(tmp_path / f"restored-{index}")
        restore(inst, restored, data, keys, private)
        found = digests(restored)
        assert not [v for v in found.values() if v.startswith("x")]
        assert "OK" in restored.run("audit", "verify", env=ENGLISH).out
        counts.append(len(found))
    # Imports were committed before the first backup and went on past it.
    assert 30 < counts[0] <= counts[1] <= len(digests(inst))
