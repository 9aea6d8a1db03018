"""The ``mnvault`` console entry point: Django's command runner with our settings."""

from __future__ import annotations

import os
import sys

# Commands that need the key file and secret key that `mnvault init` creates.
NEEDS_INIT = {"serve", "scheduler", "createadmin", "demo", "import", "audit", "keys", "networks"}


def _fail(message: str, code: int) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def _language() -> str:
    """The language of the command line: MNVAULT_LANGUAGE when it names one of the languages
    of the app (``ja``, ``en``), else the default, Japanese."""
    from django.conf import settings

    wanted = os.environ.get("MNVAULT_LANGUAGE", "").strip().lower()
    return wanted if wanted in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _start() -> None:
    """Django, set up once, speaking the command line's language."""
    import django
    from django.utils import translation

    django.setup()
    translation.activate(_language())


def _prepare(command: str) -> None:
    """Refuse to run on an uninitialised installation, and unlock the key file once (asking
    for its passphrase on a terminal) before the command starts."""
    from django.utils.translation import gettext as _

    from mnvault.cli.setup import is_initialised
    from mnvault.vault import keys
    from mnvault.vault.errors import VaultError

    if not is_initialised():
        _fail(_("Not initialised: run `mnvault init` first."), 2)
    try:
        keys.unlock(interactive=True)
    except VaultError as error:
        _fail(str(error), 2)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnvault.settings")
    # Every file mnvault creates (databases, key file, checkpoints) is readable by its owner only.
    os.umask(0o077)
    args = sys.argv[1:] if argv is None else argv
    _start()
    if args and args[0] in NEEDS_INIT and "--help" not in args and "-h" not in args:
        _prepare(args[0])
    from django.core.management import execute_from_command_line
    from django.utils.translation import gettext as _

    from mnvault.vault.errors import VaultError

    try:
        execute_from_command_line(["mnvault", *args])
    except VaultError as error:  # free of numbers by construction
        _fail(_("Error: %(error)s") % {"error": error}, 1)


if __name__ == "__main__":
    main()
