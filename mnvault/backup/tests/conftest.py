"""The command line's throw-away installations (init and demo run once per session), and the
retention tests' leavers for the journal."""

from mnvault.cli.tests.conftest import _demo_template, fresh, with_demo
from mnvault.retention.tests.test_disposal import leavers

__all__ = ["_demo_template", "fresh", "leavers", "with_demo"]
