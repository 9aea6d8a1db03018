"""Reading an uploaded payroll file: its encoding, its rows, and the one thing it must never
hold — an individual number.

Payroll software exports these files with the number columns left empty (the point of
mnvault: payroll never stores a number). A file that holds one anyway is refused whole and
nothing of it is kept, so the server never stores a number it did not seal.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mnvault.domain import numbers
from mnvault.domain.errors import VaultError

ENCODINGS = ("utf-8-sig", "cp932")
MAX_BYTES = 50 * 1024 * 1024  # a 統一CSV of 10,000 employees is about 10 MB


class UnreadableFile(VaultError):
    """The upload cannot be used; the message says why, in the user's language, and never
    quotes the file's content."""

    code = "unreadable_file"
    message = gettext_lazy("The file cannot be read.")


def decode(data: bytes) -> str:
    """The text of ``data``: UTF-8 (with or without BOM) or Shift_JIS/CP932, as payroll
    software writes them; anything else is refused (UTF-16, binary files)."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile(_("The file is too large."), code="too_large")
    if b"\x00" in data:
        raise UnreadableFile(
            _("The file is not a CSV file in UTF-8 or Shift_JIS."), code="encoding"
        )
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(_("The file is not a CSV file in UTF-8 or Shift_JIS."), code="encoding")


def rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank row; a file holding a number is refused."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if any(numbers.holds_number(value) for value in values):
                raise UnreadableFile(
                    _(
                        "Line %(line)d holds what looks like an individual number. Export "
                        "the file from the payroll software with the number columns empty: "
                        "mnvault fills them in. Nothing of the file was kept."
                    )
                    % {"line": reader.line_num},
                    code="holds_number",
                )
            yield reader.line_num, values
    except csv.Error:
        raise UnreadableFile(
            _("Line %(line)d is not valid CSV.") % {"line": reader.line_num}, code="csv"
        ) from None


def amount(text: str) -> int:
    """Yen as payroll files write them: digits, maybe with thousands separators or ¥."""
    value = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("¥", "")
    if not value:
        return 0
    if not value.lstrip("-").isdigit():
        raise ValueError(_("Not an amount in yen: %(value)s") % {"value": value[:20]})
    return int(value)


def optional_amount(text: str) -> int | None:
    return amount(text) if text.strip() else None


def plain_date(text: str) -> date | None:
    """A date written 1988-07-07 or 1988/7/7; None when empty."""
    value = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace(".", "-")
    if not value:
        return None
    try:
        year, month, day = (int(part) for part in value.split("-"))
        return date(year, month, day)
    except ValueError:
        raise ValueError(
            _("Not a date: write year, month and day, such as 1988-07-07 or 1988/7/7.")
        ) from None


def name_key(text: str) -> str:
    """A name as compared when matching: NFKC, without any space (payroll files and mnvault
    may split family and given names differently)."""
    return "".join(unicodedata.normalize("NFKC", text).split())
