"""Collection: the public registration pages (no account, opened from an invitation) and the
staff's pages for invitations and review."""

from django.urls import path

from mnvault.web.views import collection, registration, registration_items, review

public = [
    path("r/<str:token>", registration.reg_open, name="reg_open"),
    path("register/", registration.reg_start, name="reg_start"),
    path("register/code", registration.reg_code, name="reg_code"),
    path("register/purposes", registration.reg_notice, name="reg_notice"),
    path("register/number", registration.reg_number, name="reg_number"),
    path("register/documents", registration_items.reg_documents, name="reg_documents"),
    path("register/dependents", registration_items.reg_dependents, name="reg_dependents"),
    path("register/confirm", registration.reg_confirm, name="reg_confirm"),
    path("register/done", registration.reg_done, name="reg_done"),
]
staff = [
    path("c/<int:company_id>/collection/", collection.collection_overview, name="collection"),
    path("c/<int:company_id>/collection/invite", collection.invite, name="invite"),
    path("c/<int:company_id>/collection/remind", collection.remind_all, name="remind_all"),
    path(
        "c/<int:company_id>/collection/settings",
        collection.collection_settings,
        name="collection_settings",
    ),
    path(
        "c/<int:company_id>/collection/invitations/<int:invitation_id>/withdraw",
        collection.withdraw,
        name="withdraw_invitation",
    ),
    path(
        "c/<int:company_id>/collection/people/<int:person_id>/invite-dependents",
        collection.invite_dependents,
        name="invite_dependents",
    ),
    path(
        "c/<int:company_id>/collection/people/<int:person_id>/refusal",
        collection.record_refusal,
        name="record_refusal",
    ),
    path(
        "c/<int:company_id>/collection/people/<int:person_id>/refusal/withdraw",
        collection.withdraw_refusal,
        name="withdraw_refusal",
    ),
    path("c/<int:company_id>/collection/review/", review.review_queue, name="review_queue"),
    path(
        "c/<int:company_id>/collection/review/<int:submission_id>/",
        review.review_submission,
        name="review",
    ),
    path(
        "c/<int:company_id>/collection/review/<int:submission_id>/approve",
        review.approve,
        name="approve",
    ),
    path(
        "c/<int:company_id>/collection/review/<int:submission_id>/send-back",
        review.send_back,
        name="send_back",
    ),
    path(
        "c/<int:company_id>/collection/documents/<int:document_id>",
        review.review_document,
        name="review_document",
    ),
]
urlpatterns = public + staff
