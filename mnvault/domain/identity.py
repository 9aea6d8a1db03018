"""本人確認: which combinations of identity documents are accepted (domain R20, R21).

A number is confirmed (番号確認) by the My Number card, the notification card (only while its
details still match the residence record) or a residence certificate showing the number; the
person is confirmed (身元確認) by the card itself, or one photo ID, or two non-photo IDs. An
employee known in person may skip the 身元確認 document (R21). The 個人番号通知書 is never
accepted, so it is not a document kind at all.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop


class DocumentKind(models.TextChoices):
    """Identity documents accepted for 本人確認 (domain R20)."""

    MY_NUMBER_CARD = "my_number_card", gettext_lazy("My Number card")
    NOTIFICATION_CARD = "notification_card", gettext_lazy("Notification card")
    RESIDENCE_CERTIFICATE = (
        "residence_certificate",
        gettext_lazy("Certificate of residence"),
    )
    DRIVERS_LICENSE = "drivers_license", gettext_lazy("Driver's licence")
    DRIVING_HISTORY = "driving_history", gettext_lazy("Driving history certificate")
    PASSPORT = "passport", gettext_lazy("Passport")
    DISABILITY_CERTIFICATE = "disability_certificate", gettext_lazy("Disability certificate")
    RESIDENCE_CARD = "residence_card", gettext_lazy("Residence card")
    SPECIAL_PERMANENT_RESIDENT = (
        "special_permanent_resident",
        gettext_lazy("Special permanent resident certificate"),
    )
    HEALTH_INSURANCE_CARD = (
        "health_insurance_card",
        gettext_lazy("Health insurance card"),
    )
    PENSION_BOOK = "pension_book", gettext_lazy("Pension book")


D = DocumentKind

NUMBER_PROOFS = frozenset({D.MY_NUMBER_CARD, D.NOTIFICATION_CARD, D.RESIDENCE_CERTIFICATE})
PHOTO_IDS = frozenset(
    {
        D.DRIVERS_LICENSE,
        D.DRIVING_HISTORY,
        D.PASSPORT,
        D.DISABILITY_CERTIFICATE,
        D.RESIDENCE_CARD,
        D.SPECIAL_PERMANENT_RESIDENT,
    }
)
OTHER_IDS = frozenset({D.HEALTH_INSURANCE_CARD, D.PENSION_BOOK})


def combination_problem(kinds: Collection[str], *, identity_exemption: bool) -> str:
    """Why ``kinds`` do not verify a person's number and identity, or "" when they do."""
    kinds = set(kinds)
    if D.MY_NUMBER_CARD in kinds:
        return ""  # (a) the card proves both
    if not kinds & NUMBER_PROOFS:
        return _(
            "A document that shows the number is needed: the My Number card, the "
            "notification card or a residence certificate with the number."
        )
    if identity_exemption:
        return ""  # R21: known in person
    if kinds & PHOTO_IDS or len(kinds & OTHER_IDS) >= 2:
        return ""  # (b), (c) with a photo ID; (d) with two other IDs
    return _(
        "Identity needs one photo ID, or two other IDs such as the health insurance card "
        "and the pension book."
    )


# The combinations a person chooses from when registering online (domain R20 a–d), with the
# document kinds each may upload.
COMBINATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "card": (gettext_noop("My Number card (front and back)"), (D.MY_NUMBER_CARD,)),
    "notification_card": (
        gettext_noop("Notification card and a photo ID"),
        (D.NOTIFICATION_CARD, *sorted(PHOTO_IDS)),
    ),
    "residence_certificate": (
        gettext_noop("Certificate of residence with the number and a photo ID"),
        (D.RESIDENCE_CERTIFICATE, *sorted(PHOTO_IDS)),
    ),
    "two_other_ids": (
        gettext_noop("Notification card or certificate of residence, and two other IDs"),
        (D.NOTIFICATION_CARD, D.RESIDENCE_CERTIFICATE, *sorted(OTHER_IDS)),
    ),
}
