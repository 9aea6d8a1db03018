"""``mnvault audit verify``, ``checkpoint``, ``public-key`` and ``export``.

``verify --export FILE --public-key KEY`` is the auditor's check of an exported log on
another machine: it reads no database and needs no installation (``cli.main``)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.audit import witness
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import public_key, public_key_hex, write_checkpoint
from mnvault.audit.export import ExportRefused, verify_export
from mnvault.audit.verify import VerifyResult, verify
from mnvault.oversight.log_export import export_log


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
        check.add_argument(
            "--export",
            type=Path,
            default=None,
            metavar="FILE",
            help=_("verify an exported log instead of the database (with --public-key)"),
        )
        check.add_argument(
            "--public-key",
            dest="verification_key",
            default=None,
            metavar="KEY",
            help=_("the key to verify an export with: a file, or the key in hex"),
        )
        sign = sub.add_parser("checkpoint", help=_("sign the current head of the chain"))
        sign.add_argument("--checkpoint-file", type=Path, default=None)
        sub.add_parser(
            "public-key", help=_("print the key that verifies the checkpoints, and its fingerprint")
        )
        out = sub.add_parser(
            "export", help=_("write the whole log with its checkpoints, to verify elsewhere")
        )
        out.add_argument("--to", type=Path, required=True, metavar="FILE")

    def handle(
        self,
        *args,
        action: str,
        checkpoint_file: Path | None = None,
        workers: int | None = None,
        witness_files: list[Path] | None = None,
        export: Path | None = None,
        verification_key: str | None = None,
        to: Path | None = None,
        **options,
    ) -> None:
        if action == "public-key":
            self._public_key()
            return
        if action == "export" and to is not None:
            self._export(to)
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
        if export is not None:
            if verification_key is None:
                raise CommandError(
                    _("--export needs --public-key: the key you were given, not one from the file.")
                )
            key = self._load_key(verification_key)
            self.stdout.write(
                _("Verifying with the key %(fingerprint)s")
                % {"fingerprint": witness.fingerprint(key)}
            )
            sources = [(str(path), witnessed) for path, witnessed in found]
            self._report(verify_export(export, key, witnessed=sources))
            return
        if verification_key is not None:
            raise CommandError(_("--public-key is used with --export."))
        result = verify(checkpoint_path=checkpoint_file, workers=workers)
        self._report(result)
        for path, witnessed in found:
            self._report(
                witness.check_chain(
                    witnessed, entries=result.entries, source=str(path), restored=result.restores
                )
            )

    def _report(self, result: VerifyResult) -> None:
        """The result on stdout, or the failure on stderr and exit status 1."""
        for warning in result.warnings:
            self.stderr.write(_("Warning: %(warning)s") % {"warning": warning})
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

    def _load_key(self, given: str) -> Ed25519PublicKey:
        """The key from a file, or as typed (hex)."""
        path = Path(given)
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else given
            return witness.load_public_key(text)
        except (OSError, ValueError, UnicodeError):
            raise CommandError(
                _("No Ed25519 public key in %(key)s (PEM, or 64 hex digits).") % {"key": given}
            ) from None

    def _export(self, path: Path) -> None:
        try:
            done = export_log(actor=Actor.system(f"cli:{getpass.getuser()}"), path=path)
        except ExportRefused as refused:
            raise CommandError(
                _("Entry #%(seq)d looks like it holds an individual number: nothing was written.")
                % {"seq": refused.seq}
            ) from None
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": path, "error": error.strerror}
            ) from None
        self.stdout.write(
            _(
                "Exported %(entries)d entries and %(checkpoints)d signed checkpoints to %(file)s; "
                "the last checkpoint is #%(seq)d."
            )
            % {
                "entries": done.entries,
                "checkpoints": done.checkpoints,
                "file": path,
                "seq": done.last.seq,
            }
        )
        self.stdout.write(
            _("Verify it with: mnvault audit verify --export %(file)s --public-key KEY")
            % {"file": path.name}
        )

    def _public_key(self) -> None:
        key = public_key()
        self.stdout.write(_("Ed25519 key that verifies the audit log's signed checkpoints."))
        self.stdout.write(
            _("Fingerprint: %(fingerprint)s") % {"fingerprint": witness.fingerprint(key)}
        )
        self.stdout.write(_("Hex: %(hex)s") % {"hex": public_key_hex(key)})
        self.stdout.write(witness.public_key_pem(key).rstrip("\n"))
