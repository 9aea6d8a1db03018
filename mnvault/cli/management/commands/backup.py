"""``mnvault backup``: encrypted archives of the data and the key store; ``mnvault backup
init-key`` makes the age key pair whose private half only the responsible manager keeps."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from mnvault.audit.actors import Actor
from mnvault.backup import drill, schedule, services
from mnvault.backup.archive import ArchiveProblem


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Write an encrypted backup of the data and the key store.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", nargs="?", choices=["init-key", "verify"])
        parser.add_argument("archive", nargs="?", type=Path, help=_("with verify: the archive"))
        parser.add_argument(
            "--private-key", type=Path, help=_("with verify: the backup private key file")
        )
        parser.add_argument("--keys", type=Path, help=_("with verify: the key store archive"))
        parser.add_argument("--to", type=Path, help=_("the backup directory"))
        parser.add_argument(
            "--replace", action="store_true", help=_("with init-key: replace the stored key")
        )

    def handle(self, *args, action: str | None, to: Path | None, replace: bool, **opts) -> None:
        try:
            if action == "init-key":
                self._init_key(replace)
                return
            if action == "verify":
                self._verify(opts["archive"], opts["private_key"], opts["keys"])
                return
            actor = Actor.system(f"cli:{getpass.getuser()}")
            directory = Path(to or settings.MNVAULT_BACKUP_DIR)
            started = timezone.now()
            written = services.backup(to=directory, actor=actor)
            schedule.record_backup(written, started=started, directory=directory)
        except ArchiveProblem as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(
            _("Backup written (audit log up to entry #%(head)d):") % {"head": written.head}
        )
        for path in (written.data, written.keys, written.checkpoints):
            self.stdout.write(f"  {path}")

    def _verify(self, archive: Path | None, private_key: Path | None, keys: Path | None) -> None:
        if archive is None or private_key is None:
            raise CommandError(_("backup verify needs an ARCHIVE and --private-key FILE."))
        result = drill.restore_drill(archive, private_key, keys)
        drill.record_drill(result, actor=Actor.system(f"cli:{getpass.getuser()}"))
        yes, no = _("yes"), _("no")
        self.stdout.write(_("Restore drill of %(name)s:") % {"name": result.archive})
        self.stdout.write(_("  restored: %(v)s") % {"v": yes if result.restored else no})
        self.stdout.write(
            _("  audit log verified: %(v)s") % {"v": yes if result.audit_verified else no}
        )
        self.stdout.write(
            _("  numbers opened: %(opened)d of %(sampled)d sampled")
            % {"opened": result.opened, "sampled": result.sampled}
        )
        if result.message:
            self.stdout.write(f"  {result.message}")
        if not result.ok:
            raise CommandError(_("The restore drill failed: this backup could not be relied on."))
        self.stdout.write(_("The restore drill passed; the temporary copy was removed."))

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
