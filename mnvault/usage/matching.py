"""Which person each input row is about, and who its relatives are.

The employee code (受給者番号, or the payee's code) decides first. Without one, a row whose name
and birth date match exactly one person is matched *to be confirmed* by a handler: two people
can share both, and a wrong match would put one person's number on another's document.
Relatives are looked up among the matched employee's own dependents, by name or kana.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mnvault.people.models import Person, PersonKind
from mnvault.usage.kinds.base import InputRow
from mnvault.usage.models import MatchState
from mnvault.usage.reading import name_key


@dataclass(frozen=True)
class Match:
    person_id: int | None
    state: str
    relatives: list[int | None]


class Matcher:
    """Everyone of the company that the kind's rows may be about, loaded once."""

    def __init__(self, company_id: int, person_kinds: Iterable[str]) -> None:
        people = Person.objects.filter(company_id=company_id, kind__in=list(person_kinds))
        self.by_code: dict[str, int] = {}
        self.by_identity: dict[tuple[str, date], list[int]] = defaultdict(list)
        for pk, code, family, given, kana_f, kana_g, born in people.values_list(
            "pk",
            "employee_code",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "birth_date",
        ):
            if code:
                self.by_code[code] = pk
            if born is not None:
                self.by_identity[(name_key(family + given), born)].append(pk)
                if kana_f or kana_g:
                    self.by_identity[(name_key(kana_f + kana_g), born)].append(pk)
        self.dependents: dict[int, dict[str, int]] = defaultdict(dict)
        self.dependent_ids: dict[int, list[int]] = defaultdict(list)
        dependents = Person.objects.filter(company_id=company_id, kind=PersonKind.DEPENDENT)
        for pk, employee_id, family, given, kana_f, kana_g in dependents.values_list(
            "pk", "employee_id", "family_name", "given_name", "family_name_kana", "given_name_kana"
        ).order_by("pk"):
            self.dependent_ids[employee_id].append(pk)
            names = self.dependents[employee_id]
            names.setdefault(name_key(family + given), pk)
            if kana_f or kana_g:
                names.setdefault(name_key(kana_f + kana_g), pk)

    def match(self, row: InputRow, *, all_dependents: bool = False) -> Match:
        """``all_dependents``: the relatives are every dependent mnvault holds for the
        employee (the number register), not those the row names."""
        person_id, state = self._subject(row)
        if all_dependents:
            held = self.dependent_ids.get(person_id, []) if person_id is not None else []
            return Match(person_id, state, list(held))
        relatives: list[int | None] = []
        if person_id is not None:
            names = self.dependents.get(person_id, {})
            for relative in row.relatives:
                found = names.get(name_key(relative.name)) or names.get(name_key(relative.kana))
                relatives.append(found if relative.name or relative.kana else None)
        else:
            relatives = [None] * len(row.relatives)
        return Match(person_id, state, relatives)

    def _subject(self, row: InputRow) -> tuple[int | None, str]:
        code = row.code.strip()
        if code:
            found = self.by_code.get(code)
            if found is not None:
                return found, MatchState.BY_CODE
        if row.birth_date is not None:
            candidates = set(self.by_identity.get((name_key(row.name), row.birth_date), []))
            candidates |= set(self.by_identity.get((name_key(row.kana), row.birth_date), []))
            if len(candidates) == 1:
                return candidates.pop(), MatchState.TO_CONFIRM
        return None, MatchState.UNMATCHED
