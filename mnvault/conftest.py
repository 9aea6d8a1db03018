"""Shared test fixtures: a fresh key file per test and fixed personas (healthchecks' habit), one
per role, in a company that notifies withholding and social-insurance purposes, plus a handler
of another company."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import pytest
from django.conf import settings as django_settings
from django.utils import timezone, translation

from mnvault.accounts.models import Membership, Role, User
from mnvault.audit.checkpoints import write_genesis
from mnvault.companies.models import Company, CompanyPurpose
from mnvault.companies.purposes import Purpose
from mnvault.domain import numbers
from mnvault.people.models import Person, PersonKind
from mnvault.vault import keys
from mnvault.vault.keys import KeyFileProvider, KeyMaterial

ALL_DATABASES = ["default", "keys"]

# The browser and signed-in client fixtures, defined once here for every app's tests: a
# session-scoped browser registered by two conftest files would start Playwright twice.
from mnvault.web.tests.fixtures import browser, page, signed_in, stored  # noqa: E402, F401

# A fresh clone has no data directory and so no secret key; tests use a throwaway one.
django_settings.SECRET_KEY = "test-only-" + "x" * 50
COMPANY_PURPOSES = [Purpose.WITHHOLDING, Purpose.SOCIAL_INSURANCE]

# The command-line tests' throw-away installations are SQLite whatever the suite runs on
# (``cli/tests/runner.py`` removes DATABASE_URL from their environment): the PostgreSQL pass
# would only run them a second time, the same way, so it leaves them to the SQLite pass.
# A test that also brings PostgreSQL databases of its own runs in the PostgreSQL pass.
SQLITE_INSTALLATIONS = frozenset({"fresh", "initialised", "with_demo", "backed_up"})
OWN_POSTGRES = frozenset({"databases", "postgres_database", "owner_only", "pg_demo"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    same = pytest.mark.skip(reason="a SQLite installation, the same in the SQLite pass")
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & SQLITE_INSTALLATIONS and not names & OWN_POSTGRES:
            item.add_marker(same)


@pytest.fixture(autouse=True)
def key_file(tmp_path, settings):
    """Every test gets its own key file and checkpoint file, outside the database (and a fast
    password hasher: Argon2 is tested where it matters, not in every fixture). The checkpoint
    file starts with its signed genesis line, as ``mnvault init`` writes it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MNVAULT_KEY_FILE = tmp_path / "mnvault.key"
    settings.MNVAULT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"
    settings.MNVAULT_SIGNING_KEY_FILE = None  # in the key file, the default
    KeyFileProvider(settings.MNVAULT_KEY_FILE).save(KeyMaterial.generate())
    keys.forget()
    write_genesis(settings.MNVAULT_CHECKPOINT_FILE)
    yield settings.MNVAULT_KEY_FILE
    keys.forget()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language, Japanese: a page asked for in English
    leaves English active in the thread (LocaleMiddleware never turns it off)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261123)


@pytest.fixture
def make_number(rng):
    """Numbers with valid check digits, random, never a real person's; unique per test."""
    seen: set[str] = set()

    def make() -> str:
        number = numbers.generate_fake(rng)
        while number in seen:
            number = numbers.generate_fake(rng)
        seen.add(number)
        return number

    return make


@dataclass
class Personas:
    company: Company
    other_company: Company
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


def _company(name: str, purposes) -> Company:
    company = Company.objects.create(name=name)
    CompanyPurpose.objects.bulk_create(CompanyPurpose(company=company, purpose=p) for p in purposes)
    return company


def _user(username: str, company: Company | None = None, role: str | None = None) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery 42")
    if role:
        assert company is not None, "a role is held in a company"
        Membership.objects.create(user=user, company=company, role=role)
    return user


@pytest.fixture
def personas(db) -> Personas:
    company = _company("株式会社テスト", COMPANY_PURPOSES)
    other = _company("他社株式会社", COMPANY_PURPOSES)
    found = Personas(company=company, other_company=other)
    for role in Role.values:
        found.users[role] = _user(role, company, role)
    admin = _user("installation_admin")
    admin.is_installation_admin = True
    admin.save()
    found.users["installation_admin"] = admin
    found.users["no_role"] = _user("no_role")
    found.users["other_handler"] = _user("other_handler", other, Role.HANDLER)
    return found


def log_role_grants(found: Personas) -> None:
    """The personas' roles are made straight in the table; a test that verifies the whole
    log (which checks that every role has its grant entry) logs them as ``grant_role`` does."""
    from django.db import transaction

    from mnvault.audit import log as audit
    from mnvault.audit.actions import Action
    from mnvault.audit.actors import Actor

    with transaction.atomic():
        for membership in Membership.objects.order_by("pk"):
            audit.record(
                actor=Actor.system("test personas"),
                action=Action.ACCOUNTS_ROLE_GRANT,
                company_id=membership.company_id,
                detail={"user_id": membership.user_id, "role": membership.role},
            )


@pytest.fixture
def employee(personas) -> Person:
    return make_person(personas.company)


def make_person(company: Company, kind: str = PersonKind.EMPLOYEE, **fields) -> Person:
    defaults = {
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
    }
    return Person.objects.create(company=company, kind=kind, **{**defaults, **fields})


def today():
    return timezone.localdate()
