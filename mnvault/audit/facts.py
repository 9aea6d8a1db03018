"""The data the log speaks of, checked against the log: every stored number, every role granted
(and later every disposal) must have its audit entry, so that wiping or cutting the log while
the data stays is caught even where the chain and its checkpoints are gone
(docs/threat-model.md).

The data belongs to areas above the audit log (the vault, accounts), which it must not import.
So each area registers a check when the app registry is ready (``AppConfig.ready``), as the
vault registers the signing key (``audit.signing``). A check runs after the chain has been
verified, so the entries it reads are the ones that were written; it returns a message in the
active language naming the first thing no entry accounts for, or None.
"""

from __future__ import annotations

from collections.abc import Callable

Check = Callable[[], str | None]

_checks: dict[str, Check] = {}


def register(name: str, check: Check) -> None:
    """Add (or replace, by ``name``) a check; called from an ``AppConfig.ready``."""
    _checks[name] = check


def registered() -> dict[str, Check]:
    return dict(_checks)


def first_unaccounted() -> str | None:
    """The first problem any registered check finds, in the order they were registered."""
    for check in _checks.values():
        problem = check()
        if problem is not None:
            return problem
    return None
