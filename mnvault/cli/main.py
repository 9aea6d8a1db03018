"""The ``mnvault`` console entry point: Django's command runner with our settings."""

from __future__ import annotations

import os
import sys

# Commands that need the key file and secret key that `mnvault init` creates.
NEEDS_INIT = {"serve", "createadmin", "demo", "import", "audit", "keys"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnvault.settings")
    # Every file mnvault creates (databases, key file, checkpoints) is readable by its owner only.
    os.umask(0o077)
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in NEEDS_INIT:
        import django

        django.setup()
        from mnvault.cli.setup import is_initialised

        if not is_initialised():
            sys.stderr.write(
                "初期化されていません。先に `mnvault init` を実行してください / "
                "not initialised: run `mnvault init` first\n"
            )
            sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mnvault", *args])


if __name__ == "__main__":
    main()
