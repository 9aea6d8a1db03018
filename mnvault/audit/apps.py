from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mnvault.audit"
    label = "audit"
