"""Measuring one phase of a bench: wall time, CPU time and the phase's own peak RSS.

The peak is ``VmHWM`` from ``/proc/self/status``, reset at the start of each phase by writing 5
to ``/proc/self/clear_refs`` (Linux): ``ru_maxrss`` cannot be reset and tracemalloc would slow
the figures. Shared by documents.py and disposal.py.
"""

from __future__ import annotations

import time
from pathlib import Path


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


class Phase:
    """Wall time, CPU time and this phase's own peak RSS."""

    def __enter__(self) -> Phase:
        reset_peak()
        self.before = status_mb("VmRSS")
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.peak = status_mb("VmHWM")

    def figures(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu, "before": self.before, "peak": self.peak}
