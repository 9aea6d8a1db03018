"""The ``mnvault`` console entry point: mnvault's own commands, with our settings.

Only the commands of ``mnvault/cli/management/commands/`` are offered. Django's and the other
apps' management commands (``flush``, ``dumpdata``, ``shell``, ``changepassword``, ``migrate``…)
are refused: they would act on the data without the vault's checks or the audit log. There is
no ``mnvault migrate``: after an upgrade, ``mnvault init`` (safe to rerun) applies the new
migrations, and ``mnvault serve`` does as it starts."""

from __future__ import annotations

import os
import sys

# Every command the `mnvault` script runs, in the order `mnvault help` lists them.
COMMANDS = (
    "init",
    "serve",
    "scheduler",
    "createadmin",
    "demo",
    "import",
    "audit",
    "keys",
    "networks",
)
HELP_WORDS = {"help", "--help", "-h"}

# Commands that need the key file and secret key that `mnvault init` creates.
NEEDS_INIT = {"serve", "scheduler", "createadmin", "demo", "import", "audit", "keys", "networks"}


def _fail(message: str, code: int) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def _bilingual(message: str, **values: str) -> str:
    """``message`` in the active language (Japanese by default), then in English."""
    from django.utils.translation import gettext

    translated, english = gettext(message) % values, message % values
    return english if translated == english else f"{translated} / {english}"


def command_list() -> str:
    """Usage, then each command with the one-line description of its ``help``."""
    import django
    from django.core.management import load_command_class

    django.setup()
    width = max(map(len, COMMANDS))
    lines = [_bilingual("Usage: mnvault COMMAND [OPTIONS]"), ""]
    for name in COMMANDS:
        lines.append(f"  {name:<{width}}  {load_command_class('mnvault.cli', name).help}")
    lines += ["", _bilingual("Options of a command: mnvault help COMMAND")]
    return "\n".join(lines)


def _refuse(name: str) -> None:
    """Any name that is not one of mnvault's commands: one line saying so, then the list."""
    listing = command_list()  # sets Django up, which gettext needs
    _fail(f"{_bilingual('mnvault has no command `%(name)s`', name=name)}\n\n{listing}", 2)


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
    if not args or args[0] in HELP_WORDS:
        topic = args[1] if len(args) > 1 and args[0] == "help" else None
        if topic is None:
            sys.stdout.write(command_list() + "\n")
            return
        if topic not in COMMANDS:
            _refuse(topic)
    elif args[0] not in COMMANDS:
        _refuse(args[0])
    if args[0] in NEEDS_INIT and "--help" not in args and "-h" not in args:
        _prepare(args[0])
    from django.core.management import execute_from_command_line

    from mnvault.vault.errors import VaultError

    try:
        execute_from_command_line(["mnvault", *args])
    except VaultError as error:  # bilingual and free of numbers by construction
        _fail(f"エラー / error: {error}", 1)


if __name__ == "__main__":
    main()
