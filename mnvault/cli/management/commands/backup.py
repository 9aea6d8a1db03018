"""``mnvault backup``: encrypted archives of the data and the key store; ``mnvault backup
init-key`` makes the age key pair whose private half only the responsible manager keeps."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.audit.actors import Actor
from mnvault.backup import services
from mnvault.backup.archive import ArchiveProblem


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Write an encrypted backup of the data and the key store.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", nargs="?", choices=["init-key"])
        parser.add_argument("--to", type=Path, help=_("the backup directory"))
        parser.add_argument(
            "--replace", action="store_true", help=_("with init-key: replace the stored key")
        )

    def handle(self, *args, action: str | None, to: Path | None, replace: bool, **opts) -> None:
        try:
            if action == "init-key":
                self._init_key(replace)
                return
            actor = Actor.system(f"cli:{getpass.getuser()}")
            written = services.backup(to=to or settings.MNVAULT_BACKUP_DIR, actor=actor)
        except ArchiveProblem as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(
            _("Backup written (audit log up to entry #%(head)d):") % {"head": written.head}
        )
        for path in (written.data, written.keys, written.checkpoints):
            self.stdout.write(f"  {path}")

    def _init_key(self, replace: bool) -> None:
        private, public = services.init_key(replace=replace)
        self.stdout.write(
            _(
                "The backup private key follows. mnvault does not keep it: store it offline "
                "(printed, or on a USB stick in the safe). Without it no backup can be restored."
            )
        )
        self.stdout.write("")
        self.stdout.write(private)
        self.stdout.write("")
        self.stdout.write(_("Public key (stored): %(key)s") % {"key": public})
