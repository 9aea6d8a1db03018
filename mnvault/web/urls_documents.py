"""URLs of the documents area (利用・提供): runs, their production and the provision ledger."""

from __future__ import annotations

from django.urls import path

from mnvault.web.views import documents

RUN = "c/<int:company_id>/documents/<int:run_id>/"
urlpatterns = [
    path("c/<int:company_id>/documents/", documents.runs_list, name="documents"),
    path("c/<int:company_id>/documents/ledger.csv", documents.ledger_csv, name="documents_csv"),
    path("c/<int:company_id>/documents/new", documents.run_new, name="document_new"),
    path(RUN, documents.run_page, name="document_run"),
    path(f"{RUN}rows/<int:row_id>", documents.run_row, name="document_row"),
    path(f"{RUN}refresh", documents.run_refresh, name="document_refresh"),
    path(f"{RUN}produce", documents.run_produce, name="document_produce"),
    path(f"{RUN}archive", documents.run_archive, name="document_archive"),
    path(f"{RUN}copies", documents.run_copies, name="document_copies"),
    path(f"{RUN}submit", documents.run_submit, name="document_submit"),
    path(f"{RUN}withdraw", documents.run_withdraw, name="document_withdraw"),
]
