from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "mnvault.vault"
    label = "vault"
