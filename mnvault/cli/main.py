"""The ``mnvault`` console entry point: mnvault's own commands, with our settings, in the
command line's language (Japanese by default, ``MNVAULT_LANGUAGE=en`` for English).

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
    "documents",
    "audit",
    "keys",
    "networks",
    "certificate",
    "backup",
    "restore",
)
HELP_WORDS = {"help", "--help", "-h"}

# Commands that need the key file and secret key that `mnvault init` creates. Not
# `certificate`: verifying a disposal certificate is done by its holder, anywhere.
NEEDS_INIT = {
    "serve",
    "scheduler",
    "createadmin",
    "demo",
    "import",
    "documents",
    "audit",
    "keys",
    "networks",
    "backup",
}


def _needs_init(args: list[str]) -> bool:
    """Whether the command needs an installation here. Verifying an exported audit log does
    not: it is an auditor's check on another machine, against the key they were given."""
    if args[0] not in NEEDS_INIT or "--help" in args or "-h" in args:
        return False
    exported = any(arg == "--export" or arg.startswith("--export=") for arg in args)
    return not (args[:2] == ["audit", "verify"] and exported)


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


def command_list() -> str:
    """Usage, then each command with the one-line description of its ``help``."""
    from django.core.management import load_command_class
    from django.utils.translation import gettext as _

    width = max(map(len, COMMANDS))
    lines = [_("Usage: mnvault COMMAND [OPTIONS]"), ""]
    for name in COMMANDS:
        lines.append(f"  {name:<{width}}  {load_command_class('mnvault.cli', name).help}")
    lines += ["", _("Options of a command: mnvault help COMMAND")]
    return "\n".join(lines)


def _refuse(name: str) -> None:
    """Any name that is not one of mnvault's commands: one line saying so, then the list."""
    from django.utils.translation import gettext as _

    message = _("mnvault has no command `%(name)s`") % {"name": name}
    _fail(f"{message}\n\n{command_list()}", 2)


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
    if not args or args[0] in HELP_WORDS:
        topic = args[1] if len(args) > 1 and args[0] == "help" else None
        if topic is None:
            sys.stdout.write(command_list() + "\n")
            return
        if topic not in COMMANDS:
            _refuse(topic)
    elif args[0] not in COMMANDS:
        _refuse(args[0])
    if _needs_init(args):
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
