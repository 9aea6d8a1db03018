from django.urls import path

from mnvault.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
