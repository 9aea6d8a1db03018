"""``mnvault init``: create the data directory, the secret key, the key file and the tables.

Safe to run again: nothing that exists is overwritten."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.cli import prompts, setup
from mnvault.vault.keys import MIN_PASSPHRASE, key_file_path, signing_key_file_path


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Create the data directory, the keys and the tables.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--passphrase",
            action="store_true",
            help=_(
                "protect the key file with a passphrase (read from MNVAULT_KEY_PASSPHRASE or "
                "asked for)"
            ),
        )

    def handle(self, *args, passphrase: bool, verbosity: int, **options) -> None:
        data_dir = paths.data_dir()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        setup.refuse_new_key_file_over_stored_keys()  # before the secret key is written
        chosen = None
        if passphrase:
            chosen = prompts.secret("MNVAULT_KEY_PASSPHRASE", _("Passphrase"))
            if len(chosen) < MIN_PASSPHRASE:
                raise CommandError(
                    _("The passphrase needs %(n)d characters or more.") % {"n": MIN_PASSPHRASE}
                )
        if setup.ensure_secret_key():
            self.stdout.write(f"secret key: created in {data_dir}")
        if setup.ensure_key_file(chosen):
            self.stdout.write(f"key file:   created {key_file_path()} (mode 0600)")
            self.stdout.write(
                "  "
                + _(
                    "Without this key file no stored number can ever be read: back it up "
                    "apart from the data."
                )
            )
        else:
            self.stdout.write(f"key file:   {key_file_path()} exists, kept as it is")
        self._signing_key(setup.ensure_signing_key_file(chosen))
        setup.migrate(verbosity=max(verbosity - 1, 0))
        self.stdout.write(self.style.SUCCESS(_("mnvault is initialised.")))

    def _signing_key(self, done: str | None) -> None:
        path = signing_key_file_path()
        if done in ("created", "moved"):
            if done == "created":
                self.stdout.write(f"signing key: created {path} (mode 0600)")
            else:
                self.stdout.write(f"signing key: moved from the key file to {path} (mode 0600)")
            self.stdout.write(
                "  "
                + _(
                    "Whoever holds this file can sign a rewritten audit log: keep it apart "
                    "from the data directory and the key file."
                )
            )
        elif done == "differs":
            self.stderr.write(
                _(
                    "The key file holds another audit signing key than %(path)s: nothing was "
                    "changed. Checkpoints signed with the key file's key will not verify."
                )
                % {"path": path}
            )
