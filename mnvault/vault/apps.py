from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "mnvault.vault"
    label = "vault"

    def ready(self) -> None:
        """The audit log signs its checkpoints with a key only the vault reads: hand it the
        source (the audit log sits below the vault), and the check that every stored number
        has its entry."""
        from mnvault.audit import facts, signing
        from mnvault.vault import auditfacts, keys

        signing.use_signing_key(keys.signing_key)
        facts.register("stored numbers", auditfacts.numbers_accounted_for)
