"""``mnvault restore``: a backup into an empty data directory (and, on PostgreSQL, empty
databases), then every disposal of the journal re-applied, so a number disposed after the backup
stays disposed. ``mnvault restore --reapply-disposals`` does the second half alone, after the
databases were restored with other tools (pg_restore, pgBackRest)."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault import paths
from mnvault.audit import restores
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import checkpoint_file
from mnvault.backup import restore
from mnvault.backup.archive import ArchiveProblem, identity_from_file
from mnvault.cli import setup
from mnvault.vault import keys as vault_keys
from mnvault.vault.errors import VaultError


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Restore a backup into an empty data directory.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive", type=Path, nargs="?")
        parser.add_argument("--private-key", type=Path)
        parser.add_argument(
            "--reapply-disposals",
            action="store_true",
            help=_(
                "after a restore with the database's own tools: re-apply the journal's "
                "disposals and record the restore in the audit log"
            ),
        )
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
            if options["reapply_disposals"]:
                self._reapply(options["archive"], options["private_key"], options["journal"])
            else:
                self._restore(**options)
        except (ArchiveProblem, VaultError) as problem:
            raise CommandError(str(problem)) from None

    def _restore(
        self,
        *,
        archive: Path | None,
        private_key: Path | None,
        keys: Path | None,
        key_file: Path | None,
        journal: list[Path],
        **options,
    ) -> None:
        if archive is None or private_key is None:
            raise CommandError(_("restore needs an ARCHIVE and --private-key FILE."))
        setup.ensure_key_store_database()
        restore.refuse_non_empty(paths.data_dir())
        data, key_store = restore.unpack(archive, identity_from_file(private_key), keys)
        actor = Actor.system(f"cli:{getpass.getuser()}")
        placed = restore.Placed()
        placed.note_new(checkpoint_file())  # migrate starts one when the backup held none
        try:
            self._place_key_file(key_file, placed)
            restore.install(data, key_store, placed)
            setup.ensure_secret_key()
            setup.migrate()
            entries = restore.journal_entries(key_store, journal)
            reapplied = restore.reapply_disposals(entries, actor=actor)
        except BaseException:
            # Nothing half-restored: the directory and databases are empty again, so the
            # restore can simply be run again once the cause is fixed.
            restore.take_back(placed, paths.data_dir())
            raise
        restore.record_restore(data, reapplied=reapplied, actor=actor)
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

    def _place_key_file(self, key_file: Path | None, placed: restore.Placed) -> None:
        """The key file from its offline copy when none is in place, and unlocked before any
        database is written."""
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
            placed.note_new(target)
            paths.write_private_file(target, key_file.read_bytes())
        vault_keys.unlock(interactive=True)

    def _reapply(self, archive: Path | None, private_key: Path | None, journal: list[Path]) -> None:
        if archive is not None or private_key is not None:
            raise CommandError(
                _("--reapply-disposals takes no archive: it works on the databases in place.")
            )
        if not setup.is_initialised():
            raise CommandError(_("Not initialised: run `mnvault init` first."))
        setup.migrate()
        vault_keys.unlock(interactive=True)
        actor = Actor.system(f"cli:{getpass.getuser()}")
        restores.finish_pending()  # an earlier restore cut short before its restore line
        head = restore.current_head()
        entries = restore.journal_entries(None, journal)
        reapplied = restore.reapply_disposals(entries, actor=actor)
        restore.record_external_restore(head, reapplied=reapplied, actor=actor)
        self.stdout.write(
            _(
                "Recorded the restore (audit log up to entry #%(head)d); %(count)d disposed "
                "people re-applied from the journal."
            )
            % {"head": head, "count": reapplied}
        )
