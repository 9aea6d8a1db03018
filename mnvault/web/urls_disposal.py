"""URLs of the staff pages for disposal (廃棄): the queue, a batch, its certificate and the
year's declarations."""

from __future__ import annotations

from django.urls import path

from mnvault.web.views import disposal

urlpatterns = [
    path("c/<int:company_id>/disposal/", disposal.queue, name="disposal"),
    path(
        "c/<int:company_id>/disposal/declarations",
        disposal.declarations,
        name="disposal_declarations",
    ),
    path(
        "c/<int:company_id>/disposal/<int:batch_id>/", disposal.batch_detail, name="disposal_batch"
    ),
    path(
        "c/<int:company_id>/disposal/<int:batch_id>/certificate.pdf",
        disposal.certificate,
        name="disposal_certificate",
    ),
    path(
        "c/<int:company_id>/disposal/<int:batch_id>/people/<int:item_id>/certificate.pdf",
        disposal.person_certificate,
        name="disposal_person_certificate",
    ),
]
