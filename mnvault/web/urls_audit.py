"""URLs of the staff pages for the audit log viewer and the handling ledger."""

from __future__ import annotations

urlpatterns: list = []
