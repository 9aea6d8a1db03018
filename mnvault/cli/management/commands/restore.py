"""``mnvault restore``: a backup into an empty data directory, then every disposal of the
journal re-applied, so a number disposed after the backup stays disposed."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit.actors import Actor
from mnvault.backup import services
from mnvault.backup.archive import ArchiveProblem, identity_from_file
from mnvault.cli import setup
from mnvault.vault import keys as vault_keys
from mnvault.vault.errors import VaultError


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Restore a backup into an empty data directory.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument("--private-key", type=Path, required=True)
        parser.add_argument("--keys", type=Path, help=_("the key store archive"))
        parser.add_argument(
            "--key-file", type=Path, help=_("the key file, copied in when none is in place")
        )
        parser.add_argument(
            "--journal",
            type=Path,
            action="append",
            default=[],
            help=_("a disposal journal file (disposal-journal.jsonl) to re-apply"),
        )

    def handle(self, *args, **options) -> None:
        try:
            self._restore(**options)
        except (ArchiveProblem, VaultError) as problem:
            raise CommandError(str(problem)) from None

    def _restore(
        self,
        *,
        archive: Path,
        private_key: Path,
        keys: Path | None,
        key_file: Path | None,
        journal: list[Path],
        **options,
    ) -> None:
        services.refuse_non_empty(paths.data_dir())
        data, key_store = services.unpack(archive, identity_from_file(private_key), keys)
        target = setup.key_file_path()
        if not target.exists():
            if key_file is None:
                raise ArchiveProblem(
                    _(
                        "No key file at %(path)s: give the key file from its offline backup "
                        "with --key-file."
                    )
                    % {"path": target}
                )
            paths.write_private_file(target, key_file.read_bytes())
        services.install(data, key_store)
        setup.ensure_secret_key()
        setup.migrate()
        vault_keys.unlock(interactive=True)
        actor = Actor.system(f"cli:{getpass.getuser()}")
        entries = services.journal_entries(key_store, journal)
        reapplied = services.reapply_disposals(entries, actor=actor)
        services.record_restore(data, reapplied=reapplied, actor=actor)
        self.stdout.write(
            _(
                "Restored the backup of %(when)s (audit log up to entry #%(head)d); "
                "%(count)d disposed people re-applied from the journal."
            )
            % {
                "when": data.manifest.get("taken_at", "?"),
                "head": data.manifest.get("head", 0),
                "count": reapplied,
            }
        )
        if key_store is None:
            self.stderr.write(
                _("No key store archive given (--keys): numbers open only with a key store.")
            )
