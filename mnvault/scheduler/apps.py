from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "mnvault.scheduler"
    label = "scheduler"
