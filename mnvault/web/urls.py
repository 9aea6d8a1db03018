from django.urls import path

from mnvault.web import (
    urls_admin,
    urls_audit,
    urls_collection,
    urls_disposal,
    urls_documents,
)
from mnvault.web.views import account, companies, dashboard, health, home, people, signin

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("login", signin.sign_in, name="login"),
    path("login/code", signin.code, name="code"),
    path("account/two-factor", signin.enrol, name="enrol"),
    path("account/recovery-codes", signin.recovery_codes, name="recovery_codes"),
    path("account/confirm", signin.confirm, name="reauth"),
    path("logout", signin.sign_out, name="logout"),
    path("account/password", account.password_change, name="password_change"),
    path("companies/new", companies.company_new, name="company_new"),
    path("c/<int:company_id>/", dashboard.dashboard, name="dashboard"),
    path("c/<int:company_id>/people/", people.people_list, name="people"),
    path("c/<int:company_id>/people/new", people.person_new, name="person_new"),
    path("c/<int:company_id>/people/<int:person_id>/", people.person_detail, name="person"),
    path("c/<int:company_id>/people/<int:person_id>/edit", people.person_edit, name="person_edit"),
    path(
        "c/<int:company_id>/people/<int:person_id>/number",
        people.number_entry,
        name="number_entry",
    ),
    path(
        "c/<int:company_id>/people/<int:person_id>/reveal",
        people.person_reveal,
        name="person_reveal",
    ),
]
# Each area's pages in a module of its own (users, roles and settings; audit and ledger;
# collection; documents; disposal).
urlpatterns += (
    urls_admin.urlpatterns
    + urls_audit.urlpatterns
    + urls_collection.urlpatterns
    + urls_documents.urlpatterns
    + urls_disposal.urlpatterns
)
