from django.urls import path

from mnvault.web.views import health, home, signin

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("login", signin.sign_in, name="login"),
    path("login/code", signin.code, name="code"),
    path("account/two-factor", signin.enrol, name="enrol"),
    path("account/recovery-codes", signin.recovery_codes, name="recovery_codes"),
    path("logout", signin.sign_out, name="logout"),
]
