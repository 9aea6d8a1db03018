from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mnvault.web"
    label = "web"
