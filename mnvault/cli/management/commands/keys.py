"""``mnvault keys rotate``: a new key-encryption key; every data key is re-wrapped."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from tqdm import tqdm

from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.vault.models import DataKey
from mnvault.vault.rotation import rotate_kek


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Rotate the key-encryption key.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rotate = sub.add_parser(
            "rotate", help=_("a new key-encryption key; every data key is re-wrapped")
        )
        rotate.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, action: str, batch_size: int, **options) -> None:
        actor = Actor.system(f"cli:{getpass.getuser()}")
        with tqdm(total=DataKey.objects.count(), unit="keys", disable=None) as bar:
            result = rotate_kek(actor=actor, batch_size=batch_size, progress=bar.update)
        write_checkpoint()
        self.stdout.write(
            self.style.SUCCESS(
                f"KEK {result['kek']} is active; {result['rewrapped']} data keys re-wrapped"
            )
        )
