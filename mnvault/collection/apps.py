from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "mnvault.collection"
    label = "collection"
