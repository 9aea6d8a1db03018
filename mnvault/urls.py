from django.urls import include, path

urlpatterns = [
    path("", include("mnvault.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
