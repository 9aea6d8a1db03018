"""``mnvault documents …``: statutory documents from payroll data, for scripted year-end work.

Every action goes through the usage service (``usage.runs``), which checks the role and audits
each step; ``--as USER`` names the user the service acts for. The command line has no sign-in
session, so the pages' re-authentication does not apply; role checks do.

Exit status: 0 done; 2 refused or not possible (role, unreadable file, a run in the wrong
state, a bad argument), with the reason on stderr; 3 from ``prepare`` when the run was
prepared but some rows are blocked (they stay out of the file until fixed); 1 anything else.

The archive's password is written once, to stderr, never to stdout: a script that keeps
what a command prints keeps its stdout, and the password must not land beside the archive.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils.translation import gettext as _

from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.cli import documents_text as text
from mnvault.cli.lookup import cli_actor, find_company, find_user
from mnvault.cli.production import copy_private, run_with_progress
from mnvault.domain.errors import VaultError
from mnvault.usage import output, runs
from mnvault.usage.kinds import KINDS
from mnvault.usage.models import (
    Correction,
    DocumentRun,
    ProvidedPerson,
    RunRow,
    RunStatus,
    SubmissionMethod,
)

REFUSED = 2  # refused or not possible: the message says why
BLOCKED = 3  # prepared, but some rows cannot be produced
CORRECTIONS = (Correction.CORRECTION, Correction.CANCELLATION)


@contextmanager
def refusals() -> Iterator[None]:
    """A refusal of the service (role, file, state) as a message and exit status 2, with no
    traceback; the service has audited it already. Its messages hold no number."""
    try:
        yield
    except VaultError as error:
        raise CommandError(str(error), returncode=REFUSED) from None


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("not a date: write it as YYYY-MM-DD, such as 2026-01-31")
        ) from None


def plain(message: str) -> str:
    """No colour codes around what a person copies off the screen."""
    return message


def find_run(value: int | str) -> DocumentRun:
    run = DocumentRun.objects.select_related("company").filter(pk=int(value)).first()
    if run is None:
        raise CommandError(_("No document run %(run)s.") % {"run": value}, returncode=REFUSED)
    return run


def acting(name: str) -> Actor:
    return cli_actor(find_user(name, returncode=REFUSED))


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Prepare, produce and record statutory documents with numbers.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("kinds", help=_("the documents mnvault makes"))
        self._prepare_arguments(sub.add_parser("prepare", help=_("a run from a payroll file")))
        show = sub.add_parser("show", help=_("a run: status, summary and problems"))
        show.add_argument("run", type=int)
        for name, helptext in (
            ("confirm", _("confirm a row matched by name and birth date")),
            ("exclude", _("leave a row out of the document")),
        ):
            row = sub.add_parser(name, help=helptext)
            row.add_argument("run", type=int)
            row.add_argument("line", type=int)
            self._as(row)
        self._produce_arguments(sub.add_parser("produce", help=_("make the encrypted archive")))
        submitted = sub.add_parser("submitted", help=_("record that a run was submitted"))
        submitted.add_argument("run", type=int)
        submitted.add_argument("--on", dest="on", type=iso_date, required=True, metavar="DATE")
        submitted.add_argument("--method", required=True, choices=SubmissionMethod.values)
        self._as(submitted)
        withdraw = sub.add_parser("withdraw", help=_("withdraw a run; its archive is deleted"))
        withdraw.add_argument("run", type=int)
        withdraw.add_argument("--note", default="")
        self._as(withdraw)
        ledger = sub.add_parser("list", help=_("the provision ledger of a company"))
        ledger.add_argument("--company", required=True, help=_("the company's id or name"))
        ledger.add_argument("--csv", action="store_true", help=_("as CSV, with codes"))

    @staticmethod
    def _as(parser) -> None:
        parser.add_argument(
            "--as", dest="as_user", required=True, metavar="USER", help=_("the user who acts")
        )

    def _prepare_arguments(self, prepare) -> None:
        prepare.add_argument("kind", choices=sorted(KINDS))
        prepare.add_argument("file", type=Path)
        prepare.add_argument("--company", required=True, help=_("the company's id or name"))
        prepare.add_argument("--year", type=int, required=True)
        self._as(prepare)
        prepare.add_argument("--payer-address", default="")
        prepare.add_argument("--payer-phone", default="")
        prepare.add_argument(
            "--recipient-detail", default="", help=_("the tax office or municipality")
        )
        prepare.add_argument(
            "--corrects", type=int, default=None, metavar="RUN", help=_("the run corrected")
        )
        prepare.add_argument("--correction", choices=CORRECTIONS, default=None)

    def _produce_arguments(self, produce) -> None:
        produce.add_argument("run", type=int)
        self._as(produce)
        produce.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
        produce.add_argument(
            "--copies",
            type=Path,
            default=None,
            metavar="FILE.pdf",
            help=_("also save the recipients' copies (no numbers)"),
        )

    def handle(self, *args, action: str, **options: Any) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "kinds": self.kinds,
            "prepare": self.prepare,
            "show": self.show,
            "confirm": self.confirm,
            "exclude": self.exclude,
            "produce": self.produce,
            "submitted": self.submitted,
            "withdraw": self.withdraw,
            "list": self.ledger,
        }
        handlers[action](**options)

    def _lines(self, lines: Iterator[str]) -> None:
        for line in lines:
            self.stdout.write(line)

    def kinds(self, **options: Any) -> None:
        self._lines(text.kind_lines(KINDS.values()))

    def prepare(
        self,
        *,
        kind: str,
        file: Path,
        company: str,
        year: int,
        as_user: str,
        corrects: int | None,
        correction: str | None,
        **options: Any,
    ) -> None:
        actor = acting(as_user)
        target = find_company(company, returncode=REFUSED)
        corrected = find_run(corrects) if corrects is not None else None
        chosen = correction or (Correction.CORRECTION if corrected else Correction.NONE)
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror},
                returncode=REFUSED,
            ) from None
        with refusals():
            run = runs.prepare_run(
                acting_user=actor,
                company=target,
                kind=kind,
                year=year,
                data=data,
                source_name=file.name,
                recipient_detail=options["recipient_detail"],
                payer_address=options["payer_address"],
                payer_phone=options["payer_phone"],
                corrects=corrected,
                correction=chosen,
            )
        write_checkpoint()
        self.stdout.write(_("Prepared run %(run)d.") % {"run": run.pk})
        self._report(run)
        if text.counts(run)["blocked"]:
            self.stderr.write(
                _(
                    "Some rows are blocked: they are left out of the document until their "
                    "problems are fixed (see above)."
                )
            )
            sys.exit(BLOCKED)

    def _report(self, run: DocumentRun) -> None:
        self._lines(text.run_lines(run))
        self.stdout.write(text.count_line(run))
        rows = list(run.rows.all())
        if any(row.problems for row in rows):
            self.stdout.write(_("Problems:"))
            self._lines(text.problem_lines(rows))

    def show(self, *, run: int, **options: Any) -> None:
        found = find_run(run)
        if found.status == RunStatus.PREPARED:
            runs.refresh(found)  # a number stored since, a purpose notified
        self._report(found)

    def _row(self, run: int, line: int) -> RunRow:
        row = RunRow.objects.select_related("run__company").filter(run_id=run, line=line).first()
        if row is None:
            raise CommandError(
                _("Run %(run)d has no line %(line)d.") % {"run": run, "line": line},
                returncode=REFUSED,
            )
        return row

    def confirm(self, *, run: int, line: int, as_user: str, **options: Any) -> None:
        actor, row = acting(as_user), self._row(run, line)
        with refusals():
            runs.set_row_match(acting_user=actor, row=row, confirm=True)
        write_checkpoint()
        self.stdout.write(_("Line %(line)d confirmed.") % {"line": line})

    def exclude(self, *, run: int, line: int, as_user: str, **options: Any) -> None:
        actor, row = acting(as_user), self._row(run, line)
        with refusals():
            runs.set_row_match(acting_user=actor, row=row, confirm=False)
        write_checkpoint()
        self.stdout.write(_("Line %(line)d left out.") % {"line": line})

    def produce(
        self, *, run: int, as_user: str, out: Path, copies: Path | None, **options: Any
    ) -> None:
        actor, found = acting(as_user), find_run(run)
        for path in (out, copies):
            if path is not None and (path.exists() or path.is_symlink()):
                raise CommandError(
                    _("%(file)s exists already: name a new file.") % {"file": path},
                    returncode=REFUSED,
                )
        with refusals():
            password = runs.start_production(acting_user=actor, run=found)
        assert found.task_id is not None  # set by start_production
        task = run_with_progress(found.task_id, unit=_("steps"))
        found.refresh_from_db()
        if found.status != RunStatus.PRODUCED:
            write_checkpoint()
            raise CommandError(
                _("Production failed (%(error)s); the run can be produced again.")
                % {"error": task.error or task.status}
            )
        try:
            self._save(actor, found, out, copies)
        finally:
            write_checkpoint()
            self._show_password(password)

    def _save(self, actor: Actor, run: DocumentRun, out: Path, copies: Path | None) -> None:
        with refusals():
            archive = runs.download_archive(acting_user=actor, run=run)
        self._copy(output.path_of(archive), out)
        self.stdout.write(_("Archive saved to %(file)s.") % {"file": out})
        self._lines(text.run_lines(run))
        if copies is not None:
            with refusals():
                name = runs.download_copies(acting_user=actor, run=run)
            self._copy(output.path_of(name), copies)
            self.stdout.write(_("Recipients' copies saved to %(file)s.") % {"file": copies})

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        try:
            copy_private(source, target)
        except OSError as error:
            raise CommandError(
                _(
                    "Cannot write %(file)s: %(error)s. The archive can still be downloaded "
                    "from the run's page until it expires."
                )
                % {"file": target, "error": error.strerror},
                returncode=REFUSED,
            ) from None

    def _show_password(self, password: str) -> None:
        """Once, on stderr: mnvault keeps no copy it could show again."""
        self.stderr.write(
            _("Password of the archive: %(password)s") % {"password": password}, plain
        )
        self.stderr.write(
            _(
                "It is shown this once only. Keep it apart from the file: send it by another "
                "channel, never in the same e-mail or folder."
            ),
            plain,
        )

    def submitted(self, *, run: int, on: date, method: str, as_user: str, **options: Any) -> None:
        actor, found = acting(as_user), find_run(run)
        with refusals():
            runs.mark_submitted(acting_user=actor, run=found, submitted_on=on, method=method)
        write_checkpoint()
        self.stdout.write(
            _("Run %(run)d marked submitted on %(date)s.") % {"run": run, "date": on.isoformat()}
        )

    def withdraw(self, *, run: int, as_user: str, note: str, **options: Any) -> None:
        actor, found = acting(as_user), find_run(run)
        with refusals():
            runs.withdraw(acting_user=actor, run=found, note=note)
        write_checkpoint()
        self.stdout.write(_("Run %(run)d withdrawn.") % {"run": run})

    def ledger(self, *, company: str, csv: bool, **options: Any) -> None:
        target = find_company(company, returncode=REFUSED)
        found = list(DocumentRun.objects.filter(company=target).order_by("year", "pk"))
        people = dict(
            ProvidedPerson.objects.filter(run__company=target)
            .values("run_id")
            .annotate(n=Count("pk"))
            .values_list("run_id", "n")
        )
        if csv:
            self.stdout.write(text.ledger_csv(found, people), ending="")
            return
        if not found:
            self.stdout.write(_("No document runs."))
        self._lines(text.ledger_lines(found, people))
