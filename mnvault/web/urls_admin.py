"""URLs of the staff pages for users, roles and company settings."""

from __future__ import annotations

urlpatterns: list = []
