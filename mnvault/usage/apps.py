from django.apps import AppConfig


class UsageConfig(AppConfig):
    """Use and provision (利用・提供): statutory documents filled from the vault, and the
    provision ledger of which document went to which authority."""

    name = "mnvault.usage"
    label = "usage"
