"""URLs of the staff pages for the audit log viewer and the handling ledger."""

from __future__ import annotations

from django.urls import path

from mnvault.web.views import audit, ledger

urlpatterns = [
    path("c/<int:company_id>/audit/", audit.audit_page, name="audit"),
    path("c/<int:company_id>/audit.csv", audit.audit_csv, name="audit_csv"),
    path("c/<int:company_id>/audit/verify", audit.audit_verify, name="audit_verify"),
    path("c/<int:company_id>/ledger/", ledger.ledger, name="ledger"),
]
