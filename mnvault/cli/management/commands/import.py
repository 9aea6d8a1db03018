"""``mnvault import people FILE.csv --company … --user …``: all or nothing, every bad row
reported with its line number."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from mnvault.audit.checkpoints import write_checkpoint
from mnvault.cli.lookup import cli_actor, find_company, find_user
from mnvault.companies.purposes import parse_purposes
from mnvault.people.csv_import import ImportRejected, PeopleImporter
from mnvault.vault.errors import VaultError


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Import people and their numbers from a CSV file.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        people = sub.add_parser("people", help=_("a CSV of people"))
        people.add_argument("file", type=Path)
        people.add_argument("--company", required=True, help=_("the company's id or name"))
        people.add_argument("--user", required=True, help=_("the handler who imports"))
        people.add_argument(
            "--purposes",
            default="",
            help=_(
                "purposes notified to the people (default: the company's purposes that fit "
                "each person's kind)"
            ),
        )

    def handle(self, *args, file: Path, company: str, user: str, purposes: str, **options):
        if not file.is_file():
            raise CommandError(_("No such file: %(file)s") % {"file": file})
        target = find_company(company)
        acting = find_user(user)
        try:
            chosen = parse_purposes(purposes) if purposes else None
        except ValueError as error:
            raise CommandError(_("Unknown purpose: %(error)s") % {"error": error}) from None
        try:
            with tqdm(unit="rows", disable=None) as bar:
                report = PeopleImporter(
                    acting_user=cli_actor(acting),
                    company=target,
                    default_purposes=chosen,
                    progress=bar.update,
                    on_start=lambda rows: setattr(bar, "total", rows),
                ).run(file)
        except ImportRejected as rejected:
            for line, message in rejected.report.errors:
                self.stderr.write(
                    _("line %(line)d: %(message)s") % {"line": line, "message": message}
                )
            hidden = rejected.report.error_count - len(rejected.report.errors)
            if hidden:
                self.stderr.write(
                    ngettext("… and %(count)d more error", "… and %(count)d more errors", hidden)
                    % {"count": hidden}
                )
            raise CommandError(str(rejected)) from None
        except VaultError as error:
            raise CommandError(str(error)) from None
        write_checkpoint()
        self.stdout.write(
            self.style.SUCCESS(
                _("Imported %(people)d people and %(numbers)d numbers (%(encoding)s).")
                % {"people": report.people, "numbers": report.numbers, "encoding": report.encoding}
            )
        )
