"""``mnvault certificate verify FILE.pdf [--public-key KEY]``: the check of a disposal
certificate (削除証明書) by whoever was handed it — an auditor, an authority, the disposed
person — on a machine of their own. It reads no database and needs no installation
(``cli.main``): only the PDF, and the key ``mnvault audit public-key`` printed, given once."""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.audit import witness
from mnvault.retention.certificate import verify_certificate


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Verify a disposal certificate offline.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "verify", help=_("verify a disposal certificate (PDF) without the database")
        )
        check.add_argument("file", type=Path, metavar="FILE.pdf")
        check.add_argument(
            "--public-key",
            dest="verification_key",
            default=None,
            metavar="KEY",
            help=_(
                "the installation's key (from mnvault audit public-key): a file, or the key in hex"
            ),
        )

    def handle(
        self, *args, action: str, file: Path, verification_key: str | None = None, **options
    ) -> None:
        key = self._load_key(verification_key) if verification_key is not None else None
        try:
            pdf = file.read_bytes()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror}
            ) from None
        verdict = verify_certificate(pdf, key)
        if not verdict.ok:
            for problem in verdict.problems:
                self.stderr.write(_("FAILED: %(problem)s") % {"problem": problem})
            sys.exit(1)
        self.stdout.write(
            self.style.SUCCESS(
                _("OK: certificate %(number)s is genuine: its facts are in the signed audit log.")
                % {"number": verdict.number}
            )
        )
        if key is None:
            self.stdout.write(
                _(
                    "Signed with the key %(fingerprint)s. No key was given: compare this "
                    "fingerprint with the one the company gave you (mnvault audit public-key), "
                    "or verify again with --public-key."
                )
                % {"fingerprint": verdict.fingerprint}
            )
        else:
            self.stdout.write(
                _("Signed with the key given, %(fingerprint)s.")
                % {"fingerprint": verdict.fingerprint}
            )

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
