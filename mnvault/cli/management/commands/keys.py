"""``mnvault keys rotate``: a new key-encryption key; every data key is re-wrapped.
``mnvault keys export --to FILE``: a passphrase-protected copy of the key file, for the
offline backup."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.cli import prompts
from mnvault.vault.keyexport import export_key_file
from mnvault.vault.models import DataKey
from mnvault.vault.rotation import rotate_kek


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Rotate the key-encryption key, or export a protected copy of the key file.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rotate = sub.add_parser(
            "rotate", help=_("a new key-encryption key; every data key is re-wrapped")
        )
        rotate.add_argument("--batch-size", type=int, default=1000)
        export = sub.add_parser(
            "export",
            help=_(
                "a copy of the key file under a passphrase (asked twice, or read from "
                "MNVAULT_EXPORT_PASSPHRASE), for the offline backup"
            ),
        )
        export.add_argument("--to", type=Path, required=True, help=_("a new file (mode 0600)"))

    def handle(self, *args, action: str, **options) -> None:
        actor = Actor.system(f"cli:{getpass.getuser()}")
        if action == "export":
            self._export(actor, options["to"])
        else:
            self._rotate(actor, options["batch_size"])
        write_checkpoint()

    def _rotate(self, actor: Actor, batch_size: int) -> None:
        with tqdm(total=DataKey.objects.count(), unit="keys", disable=None) as bar:
            result = rotate_kek(actor=actor, batch_size=batch_size, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"KEK {result['kek']} is active; {result['rewrapped']} data keys re-wrapped"
            )
        )
        self.stdout.write(
            _(
                "The previous key-encryption key stays in the key file, retired, for "
                "%(days)d days (MNVAULT_KEYSTORE_BACKUP_DAYS), so that key-store backups "
                "taken before now still open; the scheduler then destroys it."
            )
            % {"days": settings.MNVAULT_KEYSTORE_BACKUP_DAYS}
        )

    def _export(self, actor: Actor, to: Path) -> None:
        to = to.expanduser().absolute()
        if to.exists():  # said before the passphrase is asked for, not after
            raise CommandError(
                _("%(path)s exists already: it is never overwritten. Choose another name.")
                % {"path": to}
            )
        passphrase = prompts.secret("MNVAULT_EXPORT_PASSPHRASE", _("Passphrase of the copy"))
        held = export_key_file(to=to, passphrase=passphrase, actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                _("Key file copied to %(path)s (mode 0600), sealed with the passphrase.")
                % {"path": to}
            )
        )
        self.stdout.write(
            _(
                "Keep it offline, apart from the data backups, and the passphrase apart from "
                "it. It holds the key-encryption keys %(keks)s: export again after "
                "`mnvault keys rotate`. To restore it, copy it to the key file's place and "
                "set MNVAULT_KEY_PASSPHRASE to its passphrase."
            )
            % {"keks": ", ".join(held)}
        )
