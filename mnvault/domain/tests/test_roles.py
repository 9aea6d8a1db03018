"""The role table is the one place role rules live: these pin the rules of domain R1 and R2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mnvault.domain.roles import (
    CAPABILITIES,
    GRANT_CAPABILITY,
    INSTALLATION_ADMIN_APPOINTS,
    Capability,
    Role,
    can,
    needs_second_factor,
    reaches_numbers,
    roles_with,
)

NUMBER_CAPABILITIES = [
    Capability.NUMBER_REVEAL,
    Capability.NUMBER_EXPORT,
    Capability.NUMBER_STORE,
    Capability.NUMBER_IMPORT,
    Capability.COLLECTION_REVIEW,
]


@pytest.mark.parametrize("capability", NUMBER_CAPABILITIES)
def test_only_handlers_and_responsible_managers_reach_numbers(capability):
    assert roles_with(capability) == {Role.HANDLER, Role.RESPONSIBLE_MANAGER}


def test_every_role_has_a_row_and_every_capability_a_holder():
    assert set(CAPABILITIES) == set(Role.values)
    held = set().union(*CAPABILITIES.values())
    assert held == set(Capability.values)


def test_every_role_has_a_grant_capability():
    assert set(GRANT_CAPABILITY) == set(Role.values)


def test_the_responsible_manager_designates_handlers_and_auditors():
    assert roles_with(Capability.GRANT_HANDLER) == {Role.RESPONSIBLE_MANAGER}
    assert roles_with(Capability.GRANT_AUDITOR) == {Role.RESPONSIBLE_MANAGER}


def test_who_appoints_hr_staff_and_company_admins():
    # HR staff: the company admin, and the responsible manager of a company that has none yet.
    assert roles_with(Capability.GRANT_STAFF) == {Role.COMPANY_ADMIN, Role.RESPONSIBLE_MANAGER}
    # Company admins appoint responsible managers, so one who reaches numbers never appoints them.
    assert roles_with(Capability.GRANT_COMPANY_ADMIN) == {Role.COMPANY_ADMIN}
    assert roles_with(Capability.GRANT_RESPONSIBLE_MANAGER) == {Role.COMPANY_ADMIN}
    assert {Role.COMPANY_ADMIN, Role.RESPONSIBLE_MANAGER} == INSTALLATION_ADMIN_APPOINTS


def test_no_role_grants_itself_numbers_by_appointing_a_manager_it_holds():
    # The company admin appoints managers but never reaches numbers itself.
    assert not reaches_numbers(Role.COMPANY_ADMIN)
    assert can([Role.COMPANY_ADMIN], Capability.GRANT_RESPONSIBLE_MANAGER)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.HANDLER, True),
        (Role.RESPONSIBLE_MANAGER, True),
        (Role.COMPANY_ADMIN, True),
        (Role.AUDITOR, False),
        (Role.STAFF, False),
    ],
)
def test_roles_that_reach_numbers_or_grant_roles_need_a_second_factor(role, expected):
    assert needs_second_factor(role) is expected


def test_no_roles_can_nothing():
    assert not can([], Capability.PEOPLE_VIEW)
    assert not can(["not_a_role"], Capability.PEOPLE_VIEW)


def test_no_module_keeps_a_set_of_roles_of_its_own():
    """Two roles written side by side outside the table are a role rule copied: ask the table
    (``roles_with``, ``can``) instead."""
    package = Path(__file__).resolve().parents[2]
    pair = re.compile(r"Role\.[A-Z_]+\s*[,|]\s*Role\.[A-Z_]+")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "tests" not in path.parts
        and path.name != "conftest.py"
        and path != package / "domain" / "roles.py"
        and pair.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
