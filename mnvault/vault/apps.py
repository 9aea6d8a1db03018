from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "mnvault.vault"
    label = "vault"

    def ready(self) -> None:
        """The audit log signs its checkpoints with a key from the key file, which only the
        vault reads: hand it the source (the audit log sits below the vault)."""
        from mnvault.audit import signing
        from mnvault.vault import keys

        signing.use_signing_key(keys.signing_key)
