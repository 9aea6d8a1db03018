"""The command line's throw-away installations (init and demo run once per session)."""

from mnvault.cli.tests.conftest import _demo_template, fresh, with_demo

__all__ = ["_demo_template", "fresh", "with_demo"]
