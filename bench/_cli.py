"""``mnvault`` for the benchmarks: the console entry point ``mnvault.cli.main:main``, run as the
installed ``mnvault`` script runs it, in a process that writes its own peak RSS as it exits
(``_installation`` registers that on import when ``BENCH_PEAK_FILE`` is set)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _installation  # noqa: F401  (registers the peak-memory report)

from mnvault.cli.main import main

if __name__ == "__main__":
    main(sys.argv[1:])
