"""The benchmarks' people, made the same way in each script: employees with codes E000001…,
names from a small table, birth dates and numbers from the script's seeded ``Random``, and
their numbers stored through the real bulk path (``vault.bulk.BulkStore``, as the demo and
the import store them), in batches, then one audit entry for the whole scene."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
          ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"),
          ("中村", "ナカムラ")]  # fmt: skip
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("健", "ケン"), ("美咲", "ミサキ"),
         ("大輔", "ダイスケ"), ("陽菜", "ヒナ"), ("翔", "ショウ"), ("結衣", "ユイ")]  # fmt: skip


def bulk_store(handler: Any, company: Any, purposes: dict[str, list[str]]) -> Any:
    """The bulk writer of the demo and the import, as the handler, identity checked in person."""
    from mnvault.audit.actors import Actor
    from mnvault.vault.bulk import BulkStore
    from mnvault.vault.models import VerificationChannel
    from mnvault.vault.services import Verification

    return BulkStore(
        actor=Actor.of(handler),
        company=company,
        purposes=purposes,
        verification=Verification(
            channel=VerificationChannel.IN_PERSON, document_kinds=["my_number_card"]
        ),
    )


def employee(
    company: Any,
    i: int,
    rng: random.Random,
    *,
    born_from: date = date(1950, 1, 1),
    born_days: int = 365 * 40,
    hired: date = date(2015, 4, 1),
    left: date | None = None,
) -> Any:
    """Employee ``i`` (0-based; code E{i+1:06d}), not yet saved."""
    from mnvault.people.models import Person, PersonKind

    family, given = FAMILY[i % 8], GIVEN[(i // 8) % 8]
    return Person(
        company=company,
        kind=PersonKind.EMPLOYEE,
        family_name=family[0],
        given_name=given[0],
        family_name_kana=family[1],
        given_name_kana=given[1],
        birth_date=born_from + timedelta(days=rng.randrange(born_days)),
        employee_code=f"E{i + 1:06d}",
        hire_date=hired,
        leave_date=left,
    )


def store_numbers(store: Any, people: Iterable[Any], rng: random.Random, seen: set[str]) -> None:
    """A new generated number (valid check digit, never one of ``seen``) for each person."""
    from django.utils import timezone

    from mnvault.domain.numbers import generate_fake

    items = []
    for person in people:
        number = generate_fake(rng)
        while number in seen:
            number = generate_fake(rng)
        seen.add(number)
        items.append((person, number, store.index(number)))
    store.store(items, notified_on=timezone.localdate())


def record_scene(company: Any, people: int, numbers: int) -> None:
    """The scene's one audit entry, as ``mnvault demo`` records its own."""
    from mnvault.audit import log as audit
    from mnvault.audit.actions import Action
    from mnvault.audit.actors import Actor

    audit.record(
        actor=Actor.system("bench"),
        action=Action.DEMO_CREATE,
        company_id=company.pk,
        detail={"people": people, "numbers": numbers},
    )
