from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "mnvault.people"
    label = "people"
