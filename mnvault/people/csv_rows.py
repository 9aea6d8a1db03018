"""Reading one row of a people CSV into an unsaved ``Person``: column names (English or the
Japanese headings an HR spreadsheet has), dates, kinds, relationships. Every problem becomes a
message (in the active language) for the row's line; none repeats a number."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mnvault.domain import numbers
from mnvault.people.models import Person, PersonKind, Relationship, new_key_ref

COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("区分", "種別"),
    "employee_code": ("社員番号", "従業員番号"),
    "email": ("メールアドレス", "メール", "e-mail"),
    "family_name": ("姓", "氏"),
    "given_name": ("名",),
    "family_name_kana": ("セイ", "姓カナ", "姓(カナ)"),
    "given_name_kana": ("メイ", "名カナ", "名(カナ)"),
    "birth_date": ("生年月日",),
    "hire_date": ("入社日",),
    "leave_date": ("退職日",),
    "dependent_of": ("扶養元社員番号",),
    "relationship": ("続柄",),
    "contract_start": ("契約開始日",),
    "contract_end": ("契約終了日",),
    "number": ("個人番号", "マイナンバー"),
}
REQUIRED = ("family_name", "given_name")
DATE_COLUMNS = ("birth_date", "hire_date", "leave_date", "contract_start", "contract_end")
TEXT_COLUMNS = ("employee_code", "family_name", "given_name", "family_name_kana", "given_name_kana")
# Their lengths as the model limits them.
_MAX_LENGTHS = {
    f.name: f.max_length for f in Person._meta.concrete_fields if f.name in TEXT_COLUMNS
}

_KINDS = {
    "employee": PersonKind.EMPLOYEE,
    "従業員": PersonKind.EMPLOYEE,
    "社員": PersonKind.EMPLOYEE,
    "dependent": PersonKind.DEPENDENT,
    "扶養親族": PersonKind.DEPENDENT,
    "扶養": PersonKind.DEPENDENT,
    "payee": PersonKind.PAYEE,
    "支払先": PersonKind.PAYEE,
}
_RELATIONSHIPS = {
    "spouse": Relationship.SPOUSE,
    "配偶者": Relationship.SPOUSE,
    "妻": Relationship.SPOUSE,
    "夫": Relationship.SPOUSE,
    "child": Relationship.CHILD,
    "子": Relationship.CHILD,
    "長男": Relationship.CHILD,
    "長女": Relationship.CHILD,
    "parent": Relationship.PARENT,
    "父": Relationship.PARENT,
    "母": Relationship.PARENT,
    "父母": Relationship.PARENT,
    "other": Relationship.OTHER,
    "その他": Relationship.OTHER,
}


# How a message names a column that is not a field of a person (the others by the field's own
# name): in the user's language, as the headings of their spreadsheet do, never a code.
_LABELS = {
    "kind": gettext_lazy("Kind"),
    "dependent_of": gettext_lazy("Employee code of the supporting employee"),
    "relationship": gettext_lazy("Relationship"),
    "number": gettext_lazy("Individual number"),
}


def column_label(name: str) -> str:
    label = _LABELS.get(name) or Person._meta.get_field(name).verbose_name  # type: ignore[union-attr]
    return str(label)


class RowError(ValueError):
    pass


def _heading_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "_")


def _shown_heading(heading: str, index: int) -> str:
    """How a heading is named in a message: by its text, unless it holds digits (a file with no
    header row has data in its first line, maybe a number), then by its position only."""
    if any(c.isdigit() for c in heading):
        return f"#{index + 1}"
    return f"#{index + 1}「{heading[:40]}」"


def map_header(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column positions by canonical name, and the messages for what is wrong with the header."""
    aliases = {_heading_key(name): name for name in COLUMNS}
    for canonical, others in COLUMNS.items():
        aliases.update({_heading_key(o): canonical for o in others})
    positions: dict[str, int] = {}
    problems = []
    for index, heading in enumerate(header):
        name = aliases.get(_heading_key(heading))
        shown = _shown_heading(heading, index)
        if name is None:
            problems.append(_("Unknown column %(column)s.") % {"column": shown})
        elif name in positions:
            problems.append(_("Column %(column)s appears twice.") % {"column": shown})
        else:
            positions[name] = index
    missing = [n for n in REQUIRED if n not in positions]
    if missing:
        problems.append(
            _("Missing required columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    return positions, problems


def parse_date(text: str) -> date:
    value = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace(".", "-")
    try:
        year, month, day = (int(part) for part in value.split("-"))
        return date(year, month, day)
    except ValueError:
        raise RowError(
            _("Not a date: write year, month and day, such as 1988-07-07 or 1988/7/7.")
        ) from None


class PersonDraft:
    """A person read from a row: what the model's own rules (``Person.clean``) and the insert
    need, without building a model instance per row, a tenth of an import's time (see
    bench/README.md). Saved by ``csv_import.insert_people``."""

    __slots__ = (
        "birth_date",
        "company_id",
        "contract_end",
        "contract_start",
        "created_at",
        "email",
        "employee",
        "employee_code",
        "employee_id",
        "family_name",
        "family_name_kana",
        "given_name",
        "given_name_kana",
        "hire_date",
        "key_ref",
        "kind",
        "leave_date",
        "pk",
        "relationship",
        "updated_at",
    )

    pk: int | None
    employee: Person | PersonDraft | None
    employee_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    birth_date: date | None
    hire_date: date | None
    leave_date: date | None
    contract_start: date | None
    contract_end: date | None
    company_id: int
    kind: str
    key_ref: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    employee_code: str
    relationship: str
    email: str

    def __init__(self, company_id: int, kind: str) -> None:
        self.pk = self.employee = self.employee_id = self.created_at = self.updated_at = None
        self.birth_date = self.hire_date = self.leave_date = None
        self.contract_start = self.contract_end = None
        self.company_id, self.kind, self.key_ref = company_id, kind, new_key_ref()
        self.family_name = self.given_name = self.family_name_kana = self.given_name_kana = ""
        self.employee_code = self.relationship = self.email = ""

    clean = Person.clean  # the same rules as a Person saved any other way


@dataclass
class ParsedRow:
    person: PersonDraft
    # Normalised once validated; the only place the clear value is kept.
    number: str = field(default="", repr=False)
    index: bytes = field(default=b"", repr=False)  # its keyed duplicate index in the company
    dependent_of: str = ""
    errors: list[str] = field(default_factory=list)


def parse_row(values: list[str], positions: dict[str, int], company_id: int) -> ParsedRow:
    """An unsaved Person and the raw number; ``errors`` lists what is wrong with the row."""

    def get(name: str) -> str:
        index = positions.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    row = ParsedRow(person=PersonDraft(company_id, PersonKind.EMPLOYEE))
    person = row.person
    kind = get("kind")
    if kind:
        person.kind = _KINDS.get(_heading_key(kind), "")
        if not person.kind:
            row.errors.append(_("Unknown kind (employee, dependent or payee)."))
    for name in TEXT_COLUMNS:
        value = unicodedata.normalize("NFKC", get(name)) if "kana" not in name else get(name)
        limit = _MAX_LENGTHS[name]
        if limit is not None and len(value) > limit:
            row.errors.append(_("%(column)s: too long.") % {"column": column_label(name)})
        setattr(person, name, value)
    for name in REQUIRED:
        if not getattr(person, name):
            row.errors.append(_("%(column)s: required.") % {"column": column_label(name)})
    for name in DATE_COLUMNS:
        if text := get(name):
            try:
                setattr(person, name, parse_date(text))
            except RowError as error:
                row.errors.append(f"{column_label(name)}: {error}")
    if relationship := get("relationship"):
        person.relationship = _RELATIONSHIPS.get(_heading_key(relationship), "")
        if not person.relationship:
            row.errors.append(_("Unknown relationship."))
    if email := unicodedata.normalize("NFKC", get("email")):
        try:
            validate_email(email)
        except ValidationError:
            row.errors.append(
                _("%(column)s: not a valid e-mail address.") % {"column": column_label("email")}
            )
        person.email = email[:254]
    row.dependent_of = unicodedata.normalize("NFKC", get("dependent_of"))
    row.number = get("number")
    for name in (*TEXT_COLUMNS, "dependent_of", "email"):
        if numbers.holds_number(get(name)):
            row.errors.append(
                _(
                    "%(column)s: this looks like an individual number; it belongs in the "
                    "number column."
                )
                % {"column": column_label(name)}
            )
    return row


def check_person(person: PersonDraft) -> list[str]:
    """The model's own rules (``Person.clean``), as messages."""
    try:
        person.clean()
    except ValidationError as error:
        return [
            f"{column_label(name)}: {'; '.join(messages)}"
            if name != "__all__"
            else "; ".join(messages)
            for name, messages in error.message_dict.items()
        ]
    return []
