from django.apps import AppConfig


class CliConfig(AppConfig):
    """The ``mnvault`` command line: thin management commands over the areas' services."""

    name = "mnvault.cli"
    label = "cli"
