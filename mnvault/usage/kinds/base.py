"""What every document kind declares, and the row shape every kind's reader produces.

A kind is data plus three small functions (read the input, make the slips, write the files),
one module per kind, so that a new kind — or next year's layout — is a small change in one
place (docs/formats.md names each layout's source and what is unconfirmed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class RelativeRef:
    """A spouse or dependent as the input names them (no number)."""

    name: str
    kana: str = ""
    category: str = ""
    under_16: bool = False
    spouse: bool = False


@dataclass
class InputRow:
    """One line of the input as a kind reads it: who it is about (for matching) and the
    fields its slips need. ``values`` is the line as it came, kept to write it back."""

    line: int
    values: list[str]
    code: str = ""  # 受給者番号 / the payee's code: Person.employee_code
    name: str = ""
    kana: str = ""
    birth_date: date | None = None
    relatives: list[RelativeRef] = field(default_factory=list)
    error: str = ""  # a reason this line cannot be used (bad amount, …), translated


@dataclass(frozen=True)
class Checked:
    """A row ready to produce: the input line, its person and relatives' person ids."""

    line: int
    values: list[str]
    person_id: int
    relatives: list[int | None]


@dataclass(frozen=True)
class Context:
    """What a kind's writer knows of the run besides its rows."""

    run_id: int
    year: int
    company_name: str
    company_address: str
    corporate_number: str  # 法人番号 (a number, but the company's own and public)
    company_phone: str = ""
    correction: str = ""


# Opens one member of the encrypted archive for writing (usage.output.encrypted_archive).
Sink = Callable[[str], AbstractContextManager[BinaryIO]]
# (context, rows, numbers by person id, sink) → a summary of counts for the page and the
# ledger (never a number).
Writer = Callable[[Context, list[Checked], Mapping[int, str], Sink], dict[str, Any]]
# (context, rows, out) → the recipients' copies (no number by construction: no numbers given).
CopiesWriter = Callable[[Context, list[Checked], BinaryIO], int]


@dataclass(frozen=True)
class DocumentKind:
    code: str
    label: StrOrPromise
    purpose: str  # the 利用目的 the numbers are provided for (domain R11)
    person_kinds: frozenset[str]  # whose rows it has (employee, payee)
    relatives: bool  # whether rows carry spouses and dependents with numbers
    recipient: str  # usage.models.Recipient
    source: str  # where its layout comes from (docs/formats.md)
    years: range  # the years whose layout is known
    input_help: StrOrPromise  # what file to upload, for the page
    read: Callable[[Iterable[tuple[int, list[str]]], int], Iterator[InputRow]]
    write: Writer
    copies: CopiesWriter | None = None  # None: the document has no recipient's copy
    # The rows whose numbers go into the file (default: all checked rows); e.g. only the
    # 支払調書 that are required (R34).
    include: Callable[[Context, list[Checked]], list[Checked]] | None = None
    # Columns of the stored row that hold half-width kana by the layout's rule (year → set).
    halfwidth_kana: Callable[[int], frozenset[int]] = lambda year: frozenset()
    # A layout not yet checked against its primary source: the pages say so before filing.
    provisional: bool = False
    # The relatives are every dependent mnvault holds for the employee (the register).
    all_dependents: bool = False
    # The record names the payer's address, which mnvault does not hold: asked per run.
    needs_payer_address: bool = False

    def included(self, context: Context, rows: list[Checked]) -> list[Checked]:
        return self.include(context, rows) if self.include else rows
