"""Demo data: a company, one user per role and generated people with valid-check-digit numbers.
Used by ``mnvault demo``, the benches and the end-to-end tests."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from stdnum.jp import cn

from mnvault.accounts.models import Membership, Role, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company
from mnvault.companies.purposes import Purpose
from mnvault.companies.services import create_company
from mnvault.domain import numbers
from mnvault.people.models import Person, PersonKind, Relationship
from mnvault.people.purposes import purposes_for_kind
from mnvault.vault.api import vault_transaction
from mnvault.vault.bulk import BulkStore
from mnvault.vault.models import VerificationChannel
from mnvault.vault.services import Verification

FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("健", "ケン"),
    ("美咲", "ミサキ"),
    ("大輔", "ダイスケ"),
    ("陽菜", "ヒナ"),
    ("翔", "ショウ"),
    ("結衣", "ユイ"),
]
DEMO_PURPOSES = [
    Purpose.WITHHOLDING,
    Purpose.SOCIAL_INSURANCE,
    Purpose.EMPLOYMENT_INSURANCE,
    Purpose.FEE_PAYMENT_RECORDS,
]
DEMO_ROLES = list(Role)  # one demo user for every role


@dataclass
class DemoResult:
    company: Company
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, password
    numbers: list[str] = field(default_factory=list, repr=False)


def fake_corporate_number(rng: random.Random) -> str:
    base = "".join(str(rng.randrange(10)) for _ in range(12))
    return cn.calc_check_digit(base) + base


def _person(company: Company, rng: random.Random, index: int, kind: str) -> Person:
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    return Person(
        company=company,
        kind=kind,
        family_name=family[0],
        given_name=given[0],
        family_name_kana=family[1],
        given_name_kana=given[1],
        birth_date=date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45)),
        employee_code=f"E{index:06d}" if kind == PersonKind.EMPLOYEE else "",
        hire_date=date(2015, 4, 1) if kind == PersonKind.EMPLOYEE else None,
    )


def create_demo(
    *,
    actor: Actor,
    name: str,
    people: int,
    rng: random.Random,
    progress: Callable[[int], object] | None = None,
    keep_numbers: bool = False,
) -> DemoResult:
    """The company and its users commit first (the demo handler must exist before the vault
    checks its role); the people and their numbers then commit together, or not at all."""
    with transaction.atomic(durable=True):
        result, handler = _company_and_users(actor, name, rng)
    store = BulkStore(
        actor=Actor.of(handler),
        company=result.company,
        purposes={kind: purposes_for_kind(DEMO_PURPOSES, kind) for kind in PersonKind},
        verification=Verification(
            channel=VerificationChannel.IN_PERSON, document_kinds=["my_number_card"]
        ),
    )
    with vault_transaction():
        stored = _people(result, store, people, rng, progress, keep_numbers)
        # The count of numbers lets `audit verify` tell that each of them has an entry.
        audit.record(
            actor=actor,
            action=Action.DEMO_CREATE,
            company_id=result.company.pk,
            detail={"people": people, "numbers": stored},
        )
    return result


def _company_and_users(actor: Actor, name: str, rng: random.Random) -> tuple[DemoResult, User]:
    company = create_company(
        acting_user=actor,
        name=name,
        corporate_number=fake_corporate_number(rng),
        purposes=DEMO_PURPOSES,
    )
    result = DemoResult(company=company)
    users: dict[str, User] = {}
    for role in DEMO_ROLES:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(username=f"demo{company.pk}-{role}", password=password)
        Membership.objects.create(user=user, company=company, role=role)
        audit.record(
            actor=actor,
            action=Action.ACCOUNTS_ROLE_GRANT,
            company_id=company.pk,
            detail={"user_id": user.pk, "role": role},
        )
        result.users.append((user.username, role, password))
        users[role] = user
    return result, users[Role.HANDLER]


def _people(result: DemoResult, store: BulkStore, people: int, rng, progress, keep_numbers) -> int:
    """Store the people and their numbers; how many numbers (dependents have theirs too)."""
    company, seen = result.company, set()
    for start in range(0, people, 500):
        batch = []
        for index in range(start, min(start + 500, people)):
            kind = PersonKind.PAYEE if index % 10 == 9 else PersonKind.EMPLOYEE
            batch.append(_person(company, rng, index, kind))
        Person.objects.bulk_create(batch)
        dependents = [
            Person(
                company=company,
                kind=PersonKind.DEPENDENT,
                family_name=p.family_name,
                family_name_kana=p.family_name_kana,
                given_name=(given := rng.choice(GIVEN))[0],
                given_name_kana=given[1],
                employee=p,
                relationship=Relationship.CHILD,
            )
            for p in batch
            if p.kind == PersonKind.EMPLOYEE and rng.random() < 0.2
        ]
        Person.objects.bulk_create(dependents)
        items = []
        for person in batch + dependents:
            number = numbers.generate_fake(rng)
            while number in seen:
                number = numbers.generate_fake(rng)
            seen.add(number)
            items.append((person, number, store.index(number)))
        store.store(items, notified_on=timezone.localdate())
        if keep_numbers:
            result.numbers.extend(n for _, n, _ in items)
        if progress:
            progress(len(batch))
    return len(seen)
