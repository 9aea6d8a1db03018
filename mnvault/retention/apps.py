from django.apps import AppConfig


class RetentionConfig(AppConfig):
    """Retention and disposal (廃棄): holds computed from the law, two-person approval,
    crypto-shredding and certificates."""

    name = "mnvault.retention"
    label = "retention"
