from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "mnvault.oversight"
    label = "oversight"
