"""Signing in: password, lock-out, second factor for the roles that need it, login history,
idle timeout and security headers — each refusal with its message and its history entry."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.forms import PasswordChangeForm
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import TOTP

from mnvault.accounts import signin, twofactor
from mnvault.accounts.models import LoginEvent, SealedTOTPDevice
from mnvault.conftest import ALL_DATABASES
from mnvault.web.middleware import LAST_SEEN
from mnvault.web.views.signin import RECOVERY_SESSION_KEY

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
PASSWORD = "correct horse battery 42"  # the personas' password (mnvault/conftest.py)


def totp_now(device: SealedTOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the phone shows (``steps_ahead`` periods later: a code, once used, is never
    accepted again, so a second sign-in in the same 30 s needs the next one)."""
    secret = twofactor.totp_secret(device)
    totp = TOTP(secret, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrolled_device_code(user) -> str:
    """The code for the device the enrolment page just made for ``user``."""
    return totp_now(SealedTOTPDevice.objects.get(user=user, confirmed=False))


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post(reverse("web:login"), {"username": username, "password": password})


def enrolled(client, user) -> SealedTOTPDevice:
    """Sign in and enrol a phone; the session is then fully verified."""
    sign_in(client, user.username)
    client.get(reverse("web:enrol"))
    device = SealedTOTPDevice.objects.get(user=user, confirmed=False)
    client.post(reverse("web:enrol"), {"code": totp_now(device)})
    return SealedTOTPDevice.objects.get(user=user, confirmed=True)


def outcomes(user) -> list[str]:
    return list(
        LoginEvent.objects.filter(user=user).order_by("pk").values_list("outcome", flat=True)
    )


def test_staff_signs_in_with_a_password_alone(client, personas):
    response = sign_in(client, "staff")
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200
    assert outcomes(personas.staff) == ["ok"]


@pytest.mark.parametrize(
    "persona", ["handler", "responsible_manager", "company_admin", "installation_admin"]
)
def test_roles_that_reach_numbers_must_enrol_a_second_factor(client, personas, persona):
    sign_in(client, persona)
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"] == reverse("web:enrol")


def test_enrolment_gives_recovery_codes_once(client, personas):
    sign_in(client, "handler")
    page = client.get(reverse("web:enrol"))
    assert page.status_code == 200 and b"totp-secret" in page.content
    device = SealedTOTPDevice.objects.get(user=personas.handler, confirmed=False)
    response = client.post(reverse("web:enrol"), {"code": totp_now(device)})
    assert response["Location"] == reverse("web:recovery_codes")
    codes_page = client.get(reverse("web:recovery_codes"))
    assert codes_page.content.count(b"<li><code>") == 10
    assert client.get(reverse("web:recovery_codes")).status_code == 302  # shown once only
    assert client.get(reverse("web:home")).status_code == 200
    assert outcomes(personas.handler) == ["ok", "enrolled"]


def test_a_wrong_enrolment_code_is_refused(client, personas):
    sign_in(client, "handler")
    client.get(reverse("web:enrol"))
    response = client.post(reverse("web:enrol"), {"code": "000000"})
    assert response.status_code == 200
    assert (
        "Wrong code" in response.content.decode() or "コードが違います" in response.content.decode()
    )
    assert not SealedTOTPDevice.objects.filter(user=personas.handler, confirmed=True).exists()


def test_next_sign_in_asks_for_the_code_and_refuses_a_wrong_one(client, personas):
    device = enrolled(client, personas.handler)
    client.post(reverse("web:logout"))
    sign_in(client, "handler")
    assert client.get(reverse("web:home"))["Location"] == reverse("web:code")
    wrong = client.post(reverse("web:code"), {"code": "123456"})
    assert wrong.status_code == 200 and 'id="id_code_error"' in wrong.content.decode()
    assert client.get(reverse("web:home")).status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp slows retries down after a failure
    device.throttling_failure_timestamp = None
    device.save()
    right = client.post(reverse("web:code"), {"code": totp_now(device, steps_ahead=1)})
    assert right["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200
    assert outcomes(personas.handler)[-3:] == ["ok", "bad_code", "verified"]


def test_a_recovery_code_works_once(client, personas):
    enrolled(client, personas.handler)
    token = client.session[RECOVERY_SESSION_KEY][0]
    for attempt in range(2):
        client.post(reverse("web:logout"))
        sign_in(client, "handler")
        client.post(reverse("web:code"), {"code": token})
        reached = client.get(reverse("web:home")).status_code == 200
        assert reached is (attempt == 0)


def test_repeated_wrong_passwords_lock_the_account(client, personas, settings):
    """From an address the user is known at (elsewhere they throttle that source instead:
    test_signin_throttle.py)."""
    settings.MNVAULT_LOCKOUT_FAILURES = 3
    sign_in(client, "staff")
    client.post(reverse("web:logout"))
    for _ in range(3):
        response = sign_in(client, "staff", "wrong password!")
    assert "locked" in response.content.decode() or "ロック" in response.content.decode()
    refused = sign_in(client, "staff")  # even the right password, while locked
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    assert outcomes(personas.staff) == ["ok", "logout"] + ["bad_password"] * 3 + ["locked"]


def test_an_unknown_user_is_recorded_without_saying_so(client, personas):
    response = sign_in(client, "nobody", "whatever it is")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Wrong user name or password" in page or "ユーザー名またはパスワードが違います" in page
    assert LoginEvent.objects.filter(username="nobody", user=None, outcome="bad_password").exists()


def test_an_idle_session_is_signed_out(client, personas, settings):
    sign_in(client, "staff")
    session = client.session
    session[LAST_SEEN] = time.time() - settings.MNVAULT_IDLE_MINUTES * 60 - 1
    session.save()
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert client.get(reverse("web:home")).status_code == 302
    assert outcomes(personas.staff)[-1] == "timeout"


def test_the_idle_timeout_is_shorter_for_those_who_can_reveal(personas):
    from mnvault.accounts.signin import idle_timeout

    assert idle_timeout(personas.handler) < idle_timeout(personas.staff)


def test_sign_out_needs_post(client, personas):
    sign_in(client, "staff")
    assert client.get(reverse("web:logout")).status_code == 405


def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("web:login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"  # never to another site
    assert "csrfmiddlewaretoken" in response.content.decode()


def test_the_sign_in_page_is_japanese_by_default_and_english_on_request(client):
    assert "サインイン" in client.get(reverse("web:login")).content.decode()
    english = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign in" in english.content.decode()


def test_a_post_without_csrf_token_is_refused(personas):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("web:login"), {"username": "staff", "password": PASSWORD})
    assert response.status_code == 403


def test_a_one_time_password_must_be_changed_first(client, personas):
    personas.staff.must_change_password = True
    personas.staff.save()
    sign_in(client, "staff")
    assert client.get(reverse("web:home"))["Location"] == reverse("web:password_change")
    weak = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert weak.status_code == 200 and 'id="id_new_password2_error"' in weak.content.decode()
    new = "lantern quiet orchard 27"
    done = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert done["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200  # still signed in
    personas.staff.refresh_from_db()
    assert not personas.staff.must_change_password and personas.staff.check_password(new)


def test_a_changed_password_is_confirmed_on_the_next_page(client, personas):
    sign_in(client, "staff")
    new = "lantern quiet orchard 27"
    done = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "パスワードを変更しました。" in done.content.decode()


@pytest.mark.parametrize(("who", "removed"), [("installation_admin", True), ("staff", False)])
def test_the_first_admins_password_file_goes_when_the_admin_changes_the_password(
    personas, settings, tmp_path, django_capture_on_commit_callbacks, who, removed
):
    """``mnvault serve`` left the one-time password in the data directory: nothing secret
    outlives its use. Someone else changing a one-time password leaves the file alone."""
    from mnvault.paths import INITIAL_PASSWORD_FILE

    settings.DATA_DIR = tmp_path
    left = tmp_path / INITIAL_PASSWORD_FILE
    left.write_text("one-time\n")
    user = getattr(personas, who)
    user.must_change_password = True
    user.save()
    new = "lantern quiet orchard 27"
    form = PasswordChangeForm(
        user, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert form.is_valid()

    with django_capture_on_commit_callbacks(execute=True):
        signin.change_password(RequestFactory().post("/"), form)

    assert left.exists() is not removed


@pytest.mark.parametrize("case", ["bad_password", "bad_code", "locked"])
def test_sign_in_refusals_are_also_in_the_audit_chain(client, personas, settings, case):
    from mnvault.audit.models import AuditEntry

    settings.MNVAULT_LOCKOUT_FAILURES = 1
    if case == "bad_code":
        enrolled(client, personas.handler)
        client.post(reverse("web:logout"))
        sign_in(client, "handler")
        client.post(reverse("web:code"), {"code": "000000"})
        user = personas.handler
    else:
        user = personas.staff
        sign_in(client, "staff")  # known here: failures lock rather than throttle
        client.post(reverse("web:logout"))
        sign_in(client, "staff", "wrong password!")
        if case == "locked":
            sign_in(client, "staff")
    entry = AuditEntry.objects.filter(action=f"auth.{case}").get()
    assert (entry.outcome, entry.actor_id) == ("refused", user.pk)


def test_a_number_typed_as_user_name_is_not_kept(client, personas, make_number):
    from mnvault.audit.models import AuditEntry

    number = make_number()
    response = sign_in(client, number, "whatever it is")
    assert number not in response.content.decode()
    assert 'id="id_username_error"' in response.content.decode()  # refused by the form
    assert not LoginEvent.objects.filter(username__contains=number[:6]).exists()
    assert not AuditEntry.objects.filter(action="auth.bad_password").exists()


def test_the_login_history_never_keeps_a_number_as_user_name(personas, make_number, rf):
    """Defence in depth below the form: the history itself hides one."""
    from mnvault.accounts import signin

    number = make_number()
    signin.record(rf.post("/login"), "bad_password", user=None, username=number)
    assert LoginEvent.objects.get().username == "(hidden)"


def test_a_password_alone_cannot_replace_an_enrolled_phone(client, personas):
    """The second factor must not be skippable by enrolling a new phone (review finding)."""
    from django.test import Client

    original = enrolled(client, personas.handler)
    attacker = Client()
    sign_in(attacker, "handler")
    assert attacker.get(reverse("web:enrol"))["Location"] == reverse("web:code")
    assert attacker.post(reverse("web:enrol"), {"code": "123456"})["Location"] == reverse(
        "web:code"
    )
    assert attacker.get(reverse("web:people", args=[personas.company.pk])).status_code == 302
    assert SealedTOTPDevice.objects.get(user=personas.handler, confirmed=True) == original


def test_a_verified_user_may_replace_the_phone_and_it_is_audited(client, personas):
    from mnvault.audit.models import AuditEntry

    enrolled(client, personas.handler)
    client.get(reverse("web:enrol"))
    device = SealedTOTPDevice.objects.get(user=personas.handler, confirmed=False)
    client.post(reverse("web:enrol"), {"code": totp_now(device, steps_ahead=1)})
    assert SealedTOTPDevice.objects.get(user=personas.handler, confirmed=True) == device
    assert (
        AuditEntry.objects.filter(action="auth.enrolled", actor_id=personas.handler.pk).count() == 2
    )


def test_a_right_password_does_not_clear_wrong_codes(client, personas, settings):
    settings.MNVAULT_LOCKOUT_FAILURES = 3
    device = enrolled(client, personas.handler)
    for _ in range(3):
        client.post(reverse("web:logout"))
        sign_in(client, "handler")  # the password is right every time
        device.refresh_from_db()
        device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
        device.save()
        client.post(reverse("web:code"), {"code": "000000"})
    personas.handler.refresh_from_db()
    assert personas.handler.locked_until is not None


def test_a_password_change_is_audited(client, personas):
    from mnvault.audit.models import AuditEntry

    sign_in(client, "staff")
    new = "lantern quiet orchard 27"
    client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert AuditEntry.objects.get(action="auth.password_changed").actor_id == personas.staff.pk


def test_signed_in_pages_are_not_kept_in_the_browser_cache(client, personas):
    sign_in(client, "staff")
    response = client.get(reverse("web:home"))
    assert "no-store" in response["Cache-Control"]


def test_behind_a_proxy_the_client_address_comes_from_it(settings):
    from mnvault.cli.management.commands.serve import proxy_options

    settings.BEHIND_TLS = False
    assert proxy_options() == {}
    settings.BEHIND_TLS = True
    options = proxy_options()
    assert (
        options["trusted_proxy"] == "127.0.0.1"
        and "x-forwarded-for" in options["trusted_proxy_headers"]
    )


def test_not_found_and_csrf_pages_are_ours_and_in_japanese(personas):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "見つかりません" in missing.content.decode()
    refused = client.post(reverse("web:login"), {"username": "x", "password": "y"})
    assert refused.status_code == 403 and "有効期限" in refused.content.decode()
    assert "<style" not in refused.content.decode()
