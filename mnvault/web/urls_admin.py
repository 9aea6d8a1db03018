"""URLs of the staff pages for users, roles and company settings."""

from __future__ import annotations

from django.urls import path

from mnvault.web.views import admin, login_history

urlpatterns = [
    path("c/<int:company_id>/users/", admin.users, name="users"),
    path(
        "c/<int:company_id>/users/<int:user_id>/history",
        login_history.login_history,
        name="login_history",
    ),
    path("c/<int:company_id>/users/grant", admin.user_grant, name="user_grant"),
    path("c/<int:company_id>/users/new", admin.user_new, name="user_new"),
    path(
        "c/<int:company_id>/users/memberships/<int:membership_id>/revoke",
        admin.user_revoke,
        name="user_revoke",
    ),
    path("c/<int:company_id>/settings/", admin.settings_page, name="settings"),
    path("c/<int:company_id>/settings/networks", admin.network_add, name="network_add"),
    path(
        "c/<int:company_id>/settings/networks/<int:network_id>/remove",
        admin.network_remove,
        name="network_remove",
    ),
]
