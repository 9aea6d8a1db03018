"""Normalising and validating the individual number (個人番号, domain R39, R41).

python-stdnum does the work: its ``compact`` already folds full-width digits, spaces and the
dash family, and ``validate`` checks length and check digit. This module only maps its
exceptions to bilingual messages that never repeat the input.
"""

from __future__ import annotations

import random

from stdnum import exceptions as stdnum_errors
from stdnum.jp import in_

from mnvault.vault.errors import InvalidNumber

MASK = "●●●● ●●●● ●●●●"

_MESSAGES = {
    "length": "個人番号は12桁です / the individual number has 12 digits",
    "format": "個人番号は数字だけです / the individual number has digits only",
    "checksum": (
        "個人番号のチェックディジットが正しくありません / "
        "the check digit of the individual number is wrong"
    ),
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


def generate_fake(rng: random.Random) -> str:
    """A number with a valid check digit for tests and demos — random, so never a real
    person's on purpose."""
    body = "".join(str(rng.randrange(10)) for _ in range(11))
    return body + in_.calc_check_digit(body)
