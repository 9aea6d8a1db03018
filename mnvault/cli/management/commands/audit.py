"""``mnvault audit verify`` and ``mnvault audit checkpoint``."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mnvault.audit.checkpoints import write_checkpoint
from mnvault.audit.verify import verify


class Command(BaseCommand):
    help = "監査ログの検証・署名 / verify or sign the audit log"

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("verify", help="チェーンと署名を検証 / verify chain and signatures")
        check.add_argument("--checkpoint-file", type=Path, default=None)
        check.add_argument(
            "--workers",
            type=int,
            default=None,
            help="並列数 (既定: 長いチェーンでは CPU 数) / processes (default: one per core "
            "for long chains)",
        )
        sign = sub.add_parser("checkpoint", help="現在の先頭に署名 / sign the current head")
        sign.add_argument("--checkpoint-file", type=Path, default=None)

    def handle(
        self,
        *args,
        action: str,
        checkpoint_file: Path | None,
        workers: int | None = None,
        **options,
    ) -> None:
        if action == "checkpoint":
            checkpoint = write_checkpoint(path=checkpoint_file)
            if checkpoint is None:
                self.stdout.write("nothing new to sign / 署名する新しい記録はありません")
            else:
                self.stdout.write(f"signed checkpoint at entry #{checkpoint.seq}")
            return
        if workers is not None and workers < 1:
            raise CommandError("--workers は1以上 / --workers must be 1 or more")
        result = verify(checkpoint_path=checkpoint_file, workers=workers)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(result.message))
            return
        self.stderr.write(f"FAILED / 検証失敗: {result.message}")
        sys.exit(1)
