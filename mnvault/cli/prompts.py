"""Asking for a secret on the terminal, for commands that also take it from the environment."""

from __future__ import annotations

import getpass
import os
import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def secret(variable: str, what: str) -> str:
    """The secret from ``variable``, or else typed twice on the terminal (``what`` names it,
    in the active language); without a terminal, an error naming ``variable`` (a service or
    script must set it), not a prompt nobody answers."""
    if os.environ.get(variable):
        return os.environ[variable]
    if not sys.stdin.isatty():
        raise CommandError(_("No terminal to ask on: set %(variable)s.") % {"variable": variable})
    first = getpass.getpass(f"{what}: ")
    if getpass.getpass(_("Again: ")) != first:
        raise CommandError(_("The two entries differ."))
    return first
