"""Asking for a secret on the terminal, for commands that also take it from the environment."""

from __future__ import annotations

import getpass
import os
import sys

from django.core.management.base import CommandError


def secret(variable: str, what_ja: str, what_en: str) -> str:
    """The secret from ``variable``, or else typed twice on the terminal; without a terminal,
    an error naming ``variable`` (a service or script must set it), not a prompt nobody
    answers."""
    if os.environ.get(variable):
        return os.environ[variable]
    if not sys.stdin.isatty():
        raise CommandError(
            f"端末がありません。{variable} を設定してください / no terminal to ask on: "
            f"set {variable}"
        )
    first = getpass.getpass(f"{what_ja} / {what_en}: ")
    if getpass.getpass("もう一度 / again: ") != first:
        raise CommandError(f"{what_ja}が一致しません / the {what_en}s differ")
    return first
