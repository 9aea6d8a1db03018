"""Starting several real processes at the same moment, for the scheduler's contention tests:
each is told a ``ready`` file to create once set up and a ``go`` file to wait for, so that all
of them reach the contended step together."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def run_together(
    command: Callable[[int, Path, Path], list[str]],
    count: int,
    env: dict[str, str],
    cwd: Path,
    what: str,
) -> list[str]:
    """Start ``count`` processes (``command(i, ready, go)``), release them at once when all
    are ready, and return each one's standard output; a failure names the process."""
    go = cwd / "go"
    ready = [cwd / f"ready{i}" for i in range(count)]
    processes = [
        subprocess.Popen(
            command(i, ready[i], go),
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready):
            assert all(p.poll() is None for p in processes), f"a {what} died before the start"
            assert time.monotonic() < deadline, f"{what}s did not get ready"
            time.sleep(0.01)
        go.touch()
        outputs = []
        for i, process in enumerate(processes):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, f"proc{i} failed:\n{out}\n{err}"
            outputs.append(out)
        return outputs
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
