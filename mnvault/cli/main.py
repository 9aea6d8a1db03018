"""The ``mnvault`` console entry point: Django's command runner with our settings."""

from __future__ import annotations

import os
import sys

# Commands that need the key file and secret key that `mnvault init` creates.
NEEDS_INIT = {"serve", "scheduler", "createadmin", "demo", "import", "audit", "keys", "networks"}


def _fail(message: str, code: int) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def _prepare(command: str) -> None:
    """Refuse to run on an uninitialised installation, and unlock the key file once (asking
    for its passphrase on a terminal) before the command starts."""
    import django

    django.setup()
    from mnvault.cli.setup import is_initialised
    from mnvault.vault import keys
    from mnvault.vault.errors import VaultError

    if not is_initialised():
        _fail(
            "初期化されていません。先に `mnvault init` を実行してください / "
            "not initialised: run `mnvault init` first",
            2,
        )
    try:
        keys.unlock(interactive=True)
    except VaultError as error:
        _fail(str(error), 2)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnvault.settings")
    # Every file mnvault creates (databases, key file, checkpoints) is readable by its owner only.
    os.umask(0o077)
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in NEEDS_INIT and "--help" not in args and "-h" not in args:
        _prepare(args[0])
    from django.core.management import execute_from_command_line

    from mnvault.vault.errors import VaultError

    try:
        execute_from_command_line(["mnvault", *args])
    except VaultError as error:  # bilingual and free of numbers by construction
        _fail(f"エラー / error: {error}", 1)


if __name__ == "__main__":
    main()
