from django.apps import AppConfig


class BackupConfig(AppConfig):
    """Encrypted backups and the restore that keeps disposed numbers disposed (issue 13)."""

    name = "mnvault.backup"
    label = "backup"
