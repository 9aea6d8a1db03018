"""How ``mnvault documents`` writes kinds, runs, their problems and the provision ledger as
text: plain lines a person reads at a terminal and a script can grep. Nothing here reads a
number: runs and rows hold none, and the ledger holds ids and counts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from mnvault.companies.purposes import Purpose
from mnvault.usage import checks
from mnvault.usage.kinds import KINDS, DocumentKind
from mnvault.usage.models import DocumentRun, MatchState, RunRow


def provisional_notice() -> str:
    return _(
        "The layout of this document has not been confirmed against its primary source. "
        "Check it before filing."
    )


def kind_lines(kinds: Iterable[DocumentKind]) -> Iterator[str]:
    for kind in kinds:
        flag = _(" (layout unconfirmed)") if kind.provisional else ""
        yield f"{kind.code}{flag}"
        yield "  " + _("Name: %(label)s") % {"label": kind.label}
        yield "  " + _("Years: %(first)d to %(last)d") % {
            "first": kind.years.start,
            "last": kind.years.stop - 1,
        }
        yield "  " + _("Purpose: %(purpose)s") % {"purpose": Purpose(kind.purpose).label}
        yield "  " + _("Input: %(help)s") % {"help": kind.input_help}


def problem_text(problem: dict[str, Any]) -> str:
    """One problem in words, with where it is: the character and its suggested replacement,
    or which relative."""
    text = checks.label(problem)
    if problem.get("code") == "jis":
        suggestion = problem.get("suggestion") or _("no suggestion")
        text += " " + _("column %(column)s: %(char)s → %(suggestion)s") % {
            "column": problem.get("column", "?"),
            "char": problem.get("char", ""),
            "suggestion": suggestion,
        }
    elif "relative" in problem:
        text += " " + _("(relative %(index)s)") % {"index": problem["relative"]}
    return text


def problem_lines(rows: Iterable[RunRow]) -> Iterator[str]:
    """Each row with a problem: its line, the name as the input gives it, and every problem;
    blocked rows say so (they are left out of the file)."""
    for row in rows:
        if not row.problems:
            continue
        state = _("blocked") if checks.is_blocked(row.problems) else _("warning")
        yield _("line %(line)d: %(name)s [%(state)s]") % {
            "line": row.line,
            "name": row.label,
            "state": state,
        }
        for problem in row.problems:
            yield "    - " + problem_text(problem)


def counts(run: DocumentRun) -> dict[str, int]:
    rows = list(run.rows.values_list("problems", "match"))
    blocked = sum(1 for problems, _match in rows if checks.is_blocked(problems))
    to_confirm = sum(1 for _problems, match in rows if match == MatchState.TO_CONFIRM)
    return {
        "rows": len(rows),
        "blocked": blocked,
        "ready": len(rows) - blocked,
        "to_confirm": to_confirm,
    }


def count_line(run: DocumentRun) -> str:
    return _(
        "%(rows)d rows: %(ready)d can be produced, %(blocked)d blocked (%(to_confirm)d to confirm)."
    ) % counts(run)


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def run_lines(run: DocumentRun) -> Iterator[str]:
    """The run's header: what, for whom, where it stands, and what production reported."""
    kind = KINDS.get(run.kind)
    yield _("Run %(run)d: %(kind)s, %(year)d") % {
        "run": run.pk,
        "kind": kind.label if kind else run.kind,
        "year": run.year,
    }
    yield "  " + _("Company: %(company)s") % {"company": run.company.name}
    yield "  " + _("Status: %(status)s") % {"status": run.get_status_display()}
    recipient = f"{run.get_recipient_display()} {run.recipient_detail}".strip()
    yield "  " + _("Recipient: %(recipient)s") % {"recipient": recipient}
    if run.correction:
        yield "  " + _("%(correction)s of run %(run)s") % {
            "correction": run.get_correction_display(),
            "run": run.corrects_id,
        }
    if run.produced_at:
        yield "  " + _("Produced: %(when)s") % {"when": _when(run.produced_at)}
    yield from _summary_lines(run.summary or {})
    if run.submitted_on:
        yield "  " + _("Submitted on %(date)s (%(method)s)") % {
            "date": run.submitted_on.isoformat(),
            "method": run.get_submission_method_display(),
        }
    if run.withdrawn_at:
        yield "  " + _("Withdrawn: %(when)s %(note)s") % {
            "when": _when(run.withdrawn_at),
            "note": run.note,
        }
    if kind is not None and kind.provisional:
        yield "  " + provisional_notice()


def _summary_lines(summary: dict[str, Any]) -> Iterator[str]:
    if "documents" in summary:
        yield "  " + _("Documents: %(count)d") % {"count": summary["documents"]}
    if "tax_office" in summary:
        yield "  " + _("Of these, to the tax office: %(count)d") % {"count": summary["tax_office"]}
    if "efiling_threshold" in summary:
        must = _("yes") if summary.get("efiling") else _("no")
        yield "  " + _("Electronic filing required (threshold %(threshold)d): %(must)s") % {
            "threshold": summary["efiling_threshold"],
            "must": must,
        }


LEDGER_COLUMNS = (
    "run",
    "document",
    "year",
    "recipient",
    "recipient_detail",
    "status",
    "correction",
    "corrects",
    "produced_at",
    "people",
    "submitted_on",
    "method",
    "withdrawn_at",
)


def ledger_rows(runs: Iterable[DocumentRun], people: dict[int, int]) -> Iterator[list[str]]:
    """The provision ledger (提供記録): each run, where its numbers went and how many
    people's; codes, not labels, so that a script reads it in any language."""
    for run in runs:
        yield [
            str(run.pk),
            run.kind,
            str(run.year),
            run.recipient,
            run.recipient_detail,
            run.status,
            run.correction,
            str(run.corrects_id or ""),
            _when(run.produced_at),
            str(people.get(run.pk, 0)),
            run.submitted_on.isoformat() if run.submitted_on else "",
            run.submission_method,
            _when(run.withdrawn_at),
        ]


def ledger_csv(runs: Iterable[DocumentRun], people: dict[int, int]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LEDGER_COLUMNS)
    writer.writerows(ledger_rows(runs, people))
    return buffer.getvalue()


def ledger_lines(runs: Iterable[DocumentRun], people: dict[int, int]) -> Iterator[str]:
    for run in runs:
        kind = KINDS.get(run.kind)
        yield _("Run %(run)d: %(kind)s, %(year)d — %(status)s") % {
            "run": run.pk,
            "kind": kind.label if kind else run.kind,
            "year": run.year,
            "status": run.get_status_display(),
        }
        recipient = f"{run.get_recipient_display()} {run.recipient_detail}".strip()
        yield "  " + _("To: %(recipient)s; numbers of %(people)d people") % {
            "recipient": recipient,
            "people": people.get(run.pk, 0),
        }
        if run.submitted_on:
            yield "  " + _("Submitted on %(date)s (%(method)s)") % {
                "date": run.submitted_on.isoformat(),
                "method": run.get_submission_method_display(),
            }
