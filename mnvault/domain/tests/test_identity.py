"""Accepted identity-document combinations (domain R20, R21)."""

from __future__ import annotations

import pytest

from mnvault.domain.identity import combination_problem


@pytest.mark.parametrize(
    ("kinds", "exemption"),
    [
        (["my_number_card"], False),
        (["notification_card", "drivers_license"], False),
        (["residence_certificate", "passport"], False),
        (["notification_card", "health_insurance_card", "pension_book"], False),
        (["residence_certificate"], True),
        (["notification_card"], True),
    ],
)
def test_accepted_combinations(kinds, exemption):
    assert combination_problem(kinds, identity_exemption=exemption) == ""


@pytest.mark.parametrize(
    ("kinds", "exemption", "words"),
    [
        ([], False, "number"),
        (["drivers_license"], False, "number"),
        (["passport", "health_insurance_card"], True, "number"),
        (["notification_card"], False, "photo ID"),
        (["residence_certificate", "health_insurance_card"], False, "photo ID"),
    ],
)
def test_refused_combinations_say_what_is_missing(kinds, exemption, words):
    from django.utils import translation

    with translation.override("en"):
        assert words in combination_problem(kinds, identity_exemption=exemption)
