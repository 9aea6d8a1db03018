"""Normalising and validating the individual number (個人番号, domain R39, R41).

python-stdnum does the work: its ``compact`` already folds full-width digits, spaces and the
dash family, and ``validate`` checks length and check digit. This module only maps its
exceptions to messages (translated when shown) that never repeat the input.
"""

from __future__ import annotations

import random
import re

from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.jp import in_
from stdnum.util import clean

from mnvault.domain.errors import InvalidNumber

MASK = "●●●● ●●●● ●●●●"

_MESSAGES = {
    "length": _("The individual number has 12 digits."),
    "format": _("The individual number has digits only."),
    "checksum": _("The check digit of the individual number is wrong."),
}


def normalise(raw: str) -> str:
    """The 12-digit form of what a person typed, not yet validated."""
    try:
        return in_.compact(raw)
    except stdnum_errors.ValidationError:
        raise InvalidNumber(_MESSAGES["format"], code="format") from None


def validate(raw: str) -> str:
    """The normalised number, or InvalidNumber saying what is wrong (never the value)."""
    if not isinstance(raw, str):
        raise InvalidNumber(_MESSAGES["format"], code="format")
    try:
        return in_.validate(raw)
    except stdnum_errors.InvalidLength:
        code = "length"
    except stdnum_errors.InvalidChecksum:
        code = "checksum"
    except stdnum_errors.ValidationError:
        code = "format"
    raise InvalidNumber(_MESSAGES[code], code=code)


def format_grouped(number: str) -> str:
    """``1234 5678 9012``, as printed on the card; only for an authorised reveal."""
    return in_.format(number)


def generate_fake(rng: random.Random) -> str:
    """A number with a valid check digit for tests and demos — random, so never a real
    person's on purpose."""
    body = "".join(str(rng.randrange(10)) for _ in range(11))
    return body + in_.calc_check_digit(body)


# Twelve digits not touching other digits, maybe split by spaces or hyphens, after stdnum's own
# folding of full-width digits and the dash family: anything an input path would take for a
# number.
_NUMBER_LIKE = re.compile(r"(?<![0-9])(?:[0-9][ \-]*){11}[0-9](?![0-9])")


_ANY_DIGIT = re.compile(r"\d")  # any Unicode digit, full-width included


def holds_number(text: str) -> bool:
    """Whether ``text`` holds something that validates as an individual number: used to keep
    numbers out of places they must never be (audit entries, names, employee codes)."""
    if len(_ANY_DIGIT.findall(text)) < 12:  # the common case, decided without folding
        return False
    return any(in_.is_valid(m.group()) for m in _NUMBER_LIKE.finditer(clean(text)))
