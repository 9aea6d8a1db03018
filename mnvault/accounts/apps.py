from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mnvault.accounts"
    label = "accounts"
