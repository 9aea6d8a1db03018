"""``mnvault audit verify`` and ``mnvault audit checkpoint``."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.audit.checkpoints import write_checkpoint
from mnvault.audit.verify import verify


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Verify or sign the audit log.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("verify", help=_("verify the chain and its signatures"))
        check.add_argument("--checkpoint-file", type=Path, default=None)
        check.add_argument(
            "--workers",
            type=int,
            default=None,
            help=_("processes (default: one per core for long chains)"),
        )
        sign = sub.add_parser("checkpoint", help=_("sign the current head of the chain"))
        sign.add_argument("--checkpoint-file", type=Path, default=None)

    def handle(
        self,
        *args,
        action: str,
        checkpoint_file: Path | None,
        workers: int | None = None,
        **options,
    ) -> None:
        if action == "checkpoint":
            checkpoint = write_checkpoint(path=checkpoint_file)
            if checkpoint is None:
                self.stdout.write(_("Nothing new to sign."))
            else:
                self.stdout.write(f"signed checkpoint at entry #{checkpoint.seq}")
            return
        if workers is not None and workers < 1:
            raise CommandError(_("--workers must be 1 or more."))
        result = verify(checkpoint_path=checkpoint_file, workers=workers)
        for warning in result.warnings:
            self.stderr.write(_("Warning: %(warning)s") % {"warning": warning})
        if result.ok:
            self.stdout.write(self.style.SUCCESS(result.message))
            return
        self.stderr.write(_("FAILED: %(problem)s") % {"problem": result.message})
        sys.exit(1)
