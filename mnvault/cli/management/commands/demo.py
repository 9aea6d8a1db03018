"""``mnvault demo``: a demo company with generated people whose numbers have valid check digits
(random, never real), and demo users for each role."""

from __future__ import annotations

import random
import secrets

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from tqdm import tqdm

from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.demo import create_demo


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Create a demo company with generated people.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--people", type=int, default=50)
        parser.add_argument("--company", default="デモ株式会社")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, people: int, company: str, seed: int | None, **options) -> None:
        rng = random.Random(seed if seed is not None else secrets.randbits(64))
        with tqdm(total=people, unit="people", disable=None) as bar:
            result = create_demo(
                actor=Actor.system("cli:demo"),
                name=company,
                people=people,
                rng=rng,
                progress=bar.update,
            )
        write_checkpoint()
        self.stdout.write(
            self.style.SUCCESS(
                f"demo company {result.company.name} (id {result.company.pk}): {people} people"
            )
        )
        for username, role, password in result.users:
            self.stdout.write(f"  {role:20} user: {username:24} password: {password}")
