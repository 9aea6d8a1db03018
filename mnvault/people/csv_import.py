"""``mnvault import people``: people (and their numbers) from a CSV file, all or nothing.

The file is streamed in batches inside one transaction: every valid row is written as it is
read, so that dependents can find employees and duplicates show against the database; at the
end, any error rolls the whole transaction back. Memory stays flat: what must be remembered
across batches (which line holds which number or employee code) lives in a temporary table.
"""

from __future__ import annotations

import base64
import codecs
import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from mnvault import fastinsert
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.people import csv_rows
from mnvault.people.models import Person, PersonKind
from mnvault.people.purposes import purposes_for_kind
from mnvault.vault.api import vault_transaction
from mnvault.vault.bulk import BulkStore
from mnvault.vault.errors import InvalidNumber
from mnvault.vault.models import VerificationChannel
from mnvault.vault.services import Verification, as_actor

BATCH = 1000
MAX_REPORTED = 1000
ENCODINGS = ("utf-8-sig", "cp932")


@dataclass
class ImportReport:
    rows: int = 0
    people: int = 0
    numbers: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    encoding: str = ""

    def add(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append((line, message))


class ImportRejected(Exception):
    """The file had errors; nothing was stored. ``report.errors`` lists them by line."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            ngettext(
                "Nothing was stored: %(n)d error.",
                "Nothing was stored: %(n)d errors.",
                report.error_count,
            )
            % {"n": report.error_count}
        )


def sniff(path: Path) -> tuple[str | None, int, str]:
    """(encoding, approximate row count, base64 SHA-256) in one streaming pass. The encoding
    is the first of UTF-8 (with or without BOM) and Shift_JIS/CP932 that decodes the file."""
    decoders = {name: codecs.getincrementaldecoder(name)() for name in ENCODINGS}
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            if b"\x00" in chunk:  # UTF-16/32 or a binary file: no CSV of ours holds NUL
                decoders.clear()
            for name in list(decoders):
                try:
                    decoders[name].decode(chunk)
                except UnicodeDecodeError:
                    del decoders[name]
    for name in list(decoders):
        try:
            decoders[name].decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    encoding = next((name for name in ENCODINGS if name in decoders), None)
    return encoding, max(lines - 1, 0), base64.b64encode(digest.digest()).decode()


class _SeenTable:
    """A temporary table of (what, key) → first line, so duplicates within the file are named
    by line without keeping the whole file in memory."""

    NAME = "mnvault_import_seen"

    def __enter__(self) -> _SeenTable:
        blob = "BYTEA" if connection.vendor == "postgresql" else "BLOB"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.NAME}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.NAME} "
                f"(what VARCHAR(8), k {blob}, line INTEGER, PRIMARY KEY (what, k))"
            )
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # After an error the rollback removes the table; a DROP in an aborted PostgreSQL
        # transaction would only hide the original error.
        if exc_type is None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.NAME}")

    def lines_of(self, what: str, keys: list[bytes]) -> dict[bytes, int]:
        if not keys:
            return {}
        marks = ",".join(["%s"] * len(keys))
        with connection.cursor() as cursor:
            # The table name is a constant; values are parameters.
            cursor.execute(
                f"SELECT k, line FROM {self.NAME} WHERE what = %s AND k IN ({marks})",  # noqa: S608
                [what, *keys],
            )
            return {bytes(k): line for k, line in cursor.fetchall()}

    def add(self, what: str, items: dict[bytes, int]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.NAME} (what, k, line) VALUES (%s, %s, %s)",  # noqa: S608
                [(what, k, line) for k, line in items.items()],
            )


class BrokenCsv(Exception):
    """The CSV cannot be read on from ``line`` (an unbalanced quote, say)."""

    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(line)


def _rows(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        try:
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, values
        except csv.Error:
            raise BrokenCsv(reader.line_num) from None


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Batch:
    """Valid rows of one batch, ready to insert."""

    people: list[csv_rows.PersonDraft] = field(default_factory=list)
    # (person, number, its index): clear numbers, so never in a repr.
    numbers: list[tuple[csv_rows.PersonDraft, str, bytes]] = field(default_factory=list, repr=False)


class PeopleImporter:
    def __init__(
        self,
        *,
        acting_user,
        company: Company,
        default_purposes: list[str] | None = None,
        progress: Callable[[int], object] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> None:
        self.actor: Actor = as_actor(acting_user)
        self.on_start = on_start
        self.company = company
        # Purposes notified to each kind of person: those given for everyone, or else the
        # company's own that fit the kind (domain R11: a payment record's purpose is never an
        # employee's, a dependent gets only the declaration's and health insurance's).
        notified = company.notified_purposes()
        self.purposes: dict[str, list[str]] = {
            kind: list(default_purposes) if default_purposes else purposes_for_kind(notified, kind)
            for kind in PersonKind
        }
        self.progress = progress
        self.report = ImportReport()
        self.today = timezone.localdate()

    def run(self, path: Path) -> ImportReport:
        # The role comes first: a refused user learns nothing about the file.
        self.store = BulkStore(
            actor=self.actor,
            company=self.company,
            purposes=self.purposes,
            verification=Verification(channel=VerificationChannel.IMPORT),
        )
        encoding, rows_estimate, digest = sniff(path)
        if self.on_start:
            self.on_start(rows_estimate)
        detail = {"file_sha256": digest}
        try:
            if encoding is None:
                self.report.add(0, gettext("The file is neither UTF-8 nor Shift_JIS (CP932)."))
                raise ImportRejected(self.report)
            self.report.encoding = encoding
            with vault_transaction(), _SeenTable() as seen:
                self.seen = seen
                self._read(path, encoding)
                if self.report.error_count:
                    raise ImportRejected(self.report)
                audit.record(
                    actor=self.actor,
                    action=Action.PEOPLE_IMPORT,
                    company_id=self.company.pk,
                    detail={**detail, "people": self.report.people, "numbers": self.report.numbers},
                )
        except ImportRejected:
            self._audit_rejected(detail)
            raise
        return self.report

    def _audit_rejected(self, detail: dict) -> None:
        with transaction.atomic(durable=True):
            audit.record(
                actor=self.actor,
                action=Action.PEOPLE_IMPORT,
                outcome=Outcome.FAILED,
                reason="invalid_file",
                company_id=self.company.pk,
                detail={**detail, "errors": self.report.error_count},
            )

    def _read(self, path: Path, encoding: str) -> None:
        """Every row is checked and every valid row written, even after an error, so that one
        run reports everything; the caller rolls back if anything was wrong."""
        rows = _rows(path, encoding)
        try:
            _line, header = next(rows)
            self.positions, problems = csv_rows.map_header(header)
            for problem in problems:
                self.report.add(1, problem)
            if any(name not in self.positions for name in csv_rows.REQUIRED):
                return  # every row would only repeat that a required column is missing
            for batch in _batches(rows, BATCH):
                self._import_batch(batch)
                if self.progress:
                    self.progress(len(batch))
        except StopIteration:
            self.report.add(1, gettext("The file is empty."))
        except BrokenCsv as broken:
            self.report.add(
                broken.line, gettext("The CSV is malformed from here (an unclosed quote?).")
            )
        except UnicodeDecodeError:
            self.report.add(0, gettext("The file's encoding is broken."))

    def _import_batch(self, batch: list[tuple[int, list[str]]]) -> None:
        parsed = [
            (line, csv_rows.parse_row(values, self.positions, self.company.pk))
            for line, values in batch
        ]
        self.report.rows += len(parsed)
        self._check_codes(parsed)
        self._resolve_employees(parsed)
        self._check_same_people(parsed)
        self._check_numbers(parsed)
        ready, refused = _Batch(), set()
        for line, row in parsed:
            if not row.errors:
                row.errors.extend(csv_rows.check_person(row.person))
            if id(row.person.employee) in refused:
                row.errors.append(gettext("The row of this dependent's employee has errors."))
            if row.index and not self.store.in_scope(row.person.kind):
                row.errors.append(gettext("Numbers of this kind of person are outside your scope."))
            elif row.index and not self.store.purposes_of(row.person.kind):
                row.errors.append(
                    gettext("The company notifies no purpose that fits this kind of person.")
                )
            for message in row.errors:
                self.report.add(line, message)
            if row.errors:
                refused.add(id(row.person))
                continue
            if row.index:
                ready.numbers.append((row.person, row.number, row.index))
            ready.people.append(row.person)
        if ready.people:
            self._write(ready)

    def _resolve_employees(self, parsed: list[tuple[int, csv_rows.ParsedRow]]) -> None:
        """Link each dependent to its employee: one stored already, or one on an earlier line
        of the file (written in an earlier batch, or about to be written with this one)."""
        codes = {row.dependent_of for _, row in parsed if row.dependent_of}
        stored = {
            p.employee_code: p
            for p in Person.objects.filter(
                company=self.company, kind=PersonKind.EMPLOYEE, employee_code__in=codes
            )
        }
        in_batch: dict[str, tuple[int, csv_rows.PersonDraft]] = {}
        first_lines = self.seen.lines_of("code", [c.encode() for c in codes])
        for line, row in parsed:
            person, code = row.person, row.dependent_of
            if code in stored:
                person.employee = stored[code]
            elif code and code in in_batch and in_batch[code][0] < line:
                person.employee = in_batch[code][1]
            elif code and first_lines.get(code.encode(), line) < line:
                row.errors.append(
                    gettext("The employee on line %(line)d has errors.")
                    % {"line": first_lines[code.encode()]}
                )
            elif code:
                row.errors.append(
                    gettext(
                        "No employee with that code (put employees on earlier lines than "
                        "their dependents)."
                    )
                )
            if person.kind == PersonKind.EMPLOYEE and person.employee_code:
                in_batch.setdefault(person.employee_code, (line, person))

    def _check_same_people(self, parsed: list[tuple[int, csv_rows.ParsedRow]]) -> None:
        """People without an employee code (payees, dependents, and employees without one)
        are the same person when kind, name, birth date and (for a dependent) employee agree:
        one already stored, or on an earlier line, is reported, never added twice."""
        first = self._first_lines("same", parsed, lambda r: _identity(r.person))
        stored = self._stored_identities([row.person for _, row in parsed])
        for line, row in parsed:
            key = _identity(row.person)
            if not key:
                continue
            if first[key] != line:
                row.errors.append(
                    gettext("The same person (name, birth date, kind) is on line %(line)d.")
                    % {"line": first[key]}
                )
            elif key in stored:
                row.errors.append(
                    gettext("This person is already registered (same name, birth date, kind).")
                )

    def _stored_identities(self, people: list[csv_rows.PersonDraft]) -> set[bytes]:
        families = {p.family_name for p in people if _identity(p)}
        if not families:
            return set()
        candidates = Person.objects.filter(
            company=self.company, employee_code="", family_name__in=families
        ).values_list("kind", "family_name", "given_name", "birth_date", "employee__employee_code")
        return {_identity_key(*fields) for fields in candidates.iterator()}

    def _check_codes(self, parsed: list[tuple[int, csv_rows.ParsedRow]]) -> None:
        codes = {row.person.employee_code for _, row in parsed if row.person.employee_code}
        first = self._first_lines("code", parsed, lambda r: r.person.employee_code.encode())
        stored = set(
            Person.objects.filter(company=self.company, employee_code__in=codes).values_list(
                "employee_code", flat=True
            )
        )
        for line, row in parsed:
            code = row.person.employee_code
            if not code:
                continue
            if first[code.encode()] != line:
                row.errors.append(
                    gettext("The employee code duplicates line %(line)d.")
                    % {"line": first[code.encode()]}
                )
            elif code in stored:
                row.errors.append(gettext("The employee code already exists."))

    def _first_lines(self, what: str, parsed, key_of) -> dict[bytes, int]:
        """For each key, the first line it appears on in the file so far (this batch included),
        recording this batch's new keys in the temporary table."""
        earlier = self.seen.lines_of(what, [key_of(r) for _, r in parsed if key_of(r)])
        new: dict[bytes, int] = {}
        for line, row in parsed:
            key = key_of(row)
            if key and key not in earlier and key not in new:
                new[key] = line
        self.seen.add(what, new)
        return {**new, **earlier}

    def _check_numbers(self, parsed: list[tuple[int, csv_rows.ParsedRow]]) -> None:
        """Validate each number (normalising it in place) and find duplicates, in the file by
        its keyed index and against the company's stored numbers."""
        for _, row in parsed:
            if row.number:
                try:
                    row.number = numbers.validate(row.number)
                    row.index = self.store.index(row.number)
                except InvalidNumber as error:
                    row.errors.append(gettext("Number: %(problem)s") % {"problem": error.message})
        first = self._first_lines("number", parsed, lambda r: r.index)
        stored = self.store.stored_among(r.index for _, r in parsed if r.index)
        for line, row in parsed:
            if not row.index:
                continue
            if first[row.index] != line:
                row.errors.append(
                    gettext("The number duplicates line %(line)d.") % {"line": first[row.index]}
                )
            elif row.index in stored:
                row.errors.append(gettext("This number is already stored."))

    def _write(self, ready: _Batch) -> None:
        # Employees first, so that dependents of the same batch can point at their new ids.
        in_batch = {id(p) for p in ready.people}
        for dependents in (False, True):
            insert_people([p for p in ready.people if (id(p.employee) in in_batch) == dependents])
        self.store.store(ready.numbers, notified_on=self.today)
        self.report.people += len(ready.people)
        self.report.numbers += len(ready.numbers)


PERSON_FIELDS = [f for f in Person._meta.concrete_fields if not f.primary_key]


def _identity(person: csv_rows.PersonDraft) -> bytes:
    """Who a person without an employee code is, as a short key (b"" for one with a code):
    kind, name, birth date and, for a dependent, the employee's code (how the file names it)."""
    if person.employee_code:
        return b""
    employee = person.employee.employee_code if person.employee is not None else ""
    return _identity_key(
        person.kind, person.family_name, person.given_name, person.birth_date, employee
    )


def _identity_key(
    kind: str, family_name: str, given_name: str, born: date | None, employee_code: str | None
) -> bytes:
    parts = (kind, family_name, given_name, born.isoformat() if born else "", employee_code or "")
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def insert_people(people: list[csv_rows.PersonDraft]) -> None:
    """``bulk_create`` for validated people, several times faster (``mnvault.fastinsert``);
    sets each person's primary key."""
    now = timezone.now()
    for person in people:
        person.created_at = person.updated_at = now
        if person.employee is not None:  # an employee saved earlier in this import
            person.employee_id = person.employee.pk
    rows = [tuple(getattr(p, f.attname) for f in PERSON_FIELDS) for p in people]
    ids = fastinsert.insert(Person, [f.name for f in PERSON_FIELDS], rows, returning_ids=True)
    for person, pk in zip(people, ids, strict=True):
        person.pk = pk


def import_people(
    path: Path,
    *,
    acting_user,
    company: Company,
    default_purposes: list[str] | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    return PeopleImporter(
        acting_user=acting_user,
        company=company,
        default_purposes=default_purposes,
        progress=progress,
    ).run(path)
