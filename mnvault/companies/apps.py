from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "mnvault.companies"
    label = "companies"
