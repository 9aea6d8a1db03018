"""What stands in the way of a row, listed plainly before anything is produced.

Blocking problems keep the row out of the file (nothing is produced for it); warnings let it
through with the affected relative's number left blank, and say so. Every code has its label
here, in the user's language.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from mnvault.collection.models import NumberRefusal
from mnvault.companies.models import Company
from mnvault.people.models import Person
from mnvault.usage import jis
from mnvault.usage.models import MatchState, RunRow
from mnvault.vault.provision import unprovidable

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PROBLEMS: dict[str, StrOrPromise] = {
    "unmatched": _("Matches nobody in mnvault: check the employee code, name and birth date."),
    "to_confirm": _("Matched by name and birth date only: a handler must confirm it."),
    "code_unknown": _(
        "The row's employee code matches nobody: it was matched by name and birth date instead."
    ),
    "excluded": _("Left out by a handler."),
    "input": _("The line cannot be read."),
    "not_stored": _("No number is stored for this person."),
    "refused": _("The person refused to provide their number (recorded)."),
    "disposed": _("The number has been disposed of."),
    "purpose_not_notified_to_person": _("This document's purpose was not notified to this person."),
    "jis": _("Characters the authority does not accept (outside JIS level 1 and 2)."),
    "relative_unmatched": _("A relative is not in mnvault: their number is left blank."),
    "relative_no_number": _("A relative has no usable number: it is left blank."),
}
BLOCKING = frozenset(
    {
        "unmatched",
        "to_confirm",
        "excluded",
        "input",
        "not_stored",
        "refused",
        "disposed",
        "purpose_not_notified_to_person",
        "jis",
    }
)


def problem(code: str, **detail: Any) -> dict[str, Any]:
    """A problem as a run row stores it: its code and details (never a number)."""
    return {"code": code, **detail}


def label(entry: dict[str, Any]) -> str:
    return str(PROBLEMS.get(entry.get("code", ""), entry.get("code", "")))


def is_blocked(problems: Iterable[dict[str, Any]]) -> bool:
    return any(p.get("code") in BLOCKING for p in problems)


def text_problems(
    values: Sequence[str], halfwidth_kana: Collection[int] = ()
) -> list[dict[str, Any]]:
    """Each character outside JIS level 1–2, with the column and a suggested replacement
    (half-width kana only where the layout asks for them)."""
    found = []
    for column, value in enumerate(values):
        allow = column in halfwidth_kana
        for char_problem in jis.problems(value, allow_halfwidth_kana=allow):
            found.append(
                problem(
                    "jis",
                    column=column + 1,
                    char=char_problem.char,
                    suggestion=char_problem.suggestion or "",
                )
            )
    return found


def check_rows(company: Company, rows: Sequence[RunRow], purpose: str) -> None:
    """Fill each row's problems from the vault's view of its people (no decryption): the
    number present and active, the purpose notified, no refusal on record."""
    ids = {r.person_id for r in rows if r.person_id is not None}
    for row in rows:
        ids.update(pk for pk in row.relatives if pk is not None)
    people = list(Person.objects.filter(pk__in=ids, company=company))
    missing = unprovidable(company, people, purpose)
    refused = set(
        NumberRefusal.objects.filter(person_id__in=ids, withdrawn_at__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    for row in rows:
        kept = [p for p in row.problems if p["code"] in {"input", "jis", "code_unknown"}]
        if row.match == MatchState.UNMATCHED:
            kept.append(problem("unmatched"))
        elif row.match == MatchState.TO_CONFIRM:
            kept.append(problem("to_confirm"))
        elif row.match == MatchState.EXCLUDED:
            kept.append(problem("excluded"))
        if row.person_id is not None:
            if row.person_id in refused and row.person_id in missing:
                kept.append(problem("refused"))
            elif row.person_id in missing:
                kept.append(problem(missing[row.person_id]))
        for index, relative in enumerate(row.relatives):
            if relative is None:
                kept.append(problem("relative_unmatched", relative=index + 1))
            elif relative in missing:
                kept.append(
                    problem("relative_no_number", relative=index + 1, reason=missing[relative])
                )
        row.problems = kept
