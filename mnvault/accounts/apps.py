from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mnvault.accounts"
    label = "accounts"

    def ready(self) -> None:
        """``audit verify`` checks that every role granted has its entry (the audit log sits
        below accounts, so accounts hands it the check)."""
        from mnvault.accounts import auditfacts
        from mnvault.audit import facts

        facts.register("roles granted", auditfacts.roles_accounted_for)
