"""``mnvault audit verify``, ``checkpoint`` and ``public-key``."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.audit import witness
from mnvault.audit.checkpoints import public_key, public_key_hex, write_checkpoint
from mnvault.audit.verify import VerifyResult, verify


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
        check.add_argument(
            "--witness",
            dest="witness_files",
            type=Path,
            action="append",
            default=[],
            metavar="FILE",
            help=_(
                "checkpoints kept elsewhere (saved e-mail digests, the witness file): each "
                "must match the chain; may be given more than once"
            ),
        )
        sign = sub.add_parser("checkpoint", help=_("sign the current head of the chain"))
        sign.add_argument("--checkpoint-file", type=Path, default=None)
        sub.add_parser(
            "public-key", help=_("print the key that verifies the checkpoints, and its fingerprint")
        )

    def handle(
        self,
        *args,
        action: str,
        checkpoint_file: Path | None = None,
        workers: int | None = None,
        witness_files: list[Path] | None = None,
        **options,
    ) -> None:
        if action == "public-key":
            self._public_key()
            return
        if action == "checkpoint":
            checkpoint = write_checkpoint(path=checkpoint_file)
            if checkpoint is None:
                self.stdout.write(_("Nothing new to sign."))
            else:
                self.stdout.write(f"signed checkpoint at entry #{checkpoint.seq}")
            return
        if workers is not None and workers < 1:
            raise CommandError(_("--workers must be 1 or more."))
        found = [(path, self._witnesses(path)) for path in witness_files or []]
        result = verify(checkpoint_path=checkpoint_file, workers=workers)
        self._report(result)
        for path, witnessed in found:
            self._report(witness.check_chain(witnessed, entries=result.entries, source=str(path)))

    def _report(self, result: VerifyResult) -> None:
        """The result on stdout, or the failure on stderr and exit status 1."""
        if result.ok:
            self.stdout.write(self.style.SUCCESS(result.message))
            return
        self.stderr.write(_("FAILED: %(problem)s") % {"problem": result.message})
        sys.exit(1)

    def _witnesses(self, path: Path) -> list[tuple[str, witness.Witnessed | None]]:
        try:
            return witness.read_witnesses(path)
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": error.strerror}
            ) from None

    def _public_key(self) -> None:
        key = public_key()
        self.stdout.write(_("Ed25519 key that verifies the audit log's signed checkpoints."))
        self.stdout.write(
            _("Fingerprint: %(fingerprint)s") % {"fingerprint": witness.fingerprint(key)}
        )
        self.stdout.write(_("Hex: %(hex)s") % {"hex": public_key_hex(key)})
        self.stdout.write(witness.public_key_pem(key).rstrip("\n"))
