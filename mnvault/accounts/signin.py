"""Signing in: password with lock-out, then a TOTP code (django-otp) for every user who can
reveal numbers or change who can. Each attempt is written to the login history (domain R3).

Guessing is slowed down in two ways, neither of which an outsider can turn against a user:

* **Throttling by source.** Failures (wrong passwords and codes) are counted from the login
  history, per client address across all user names (password spraying), per user name from
  one address, and per user name from all the addresses the user is not known at together.
  Over a limit, attempts from there are refused unchecked until older failures leave the
  window (``MNVAULT_LOCKOUT_MINUTES``). An address the user is known at (a completed sign-in
  there in the last 90 days, or inside an allowed network of one of their companies) is
  never throttled, so an outsider's failures do not shut the user out of their own office.
* **Lock-out of the account**, only by failures from an address the user is known at (a
  colleague at the next desk, or the office's shared NAT address).

Every counter is in the database (the login history, the user row), so they hold across
several app servers; none is kept in a process's memory.

The views only call these functions; nothing here builds HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from mnvault.accounts import twofactor
from mnvault.accounts.models import (
    LoginEvent,
    Membership,
    RecoveryCodeDevice,
    SealedTOTPDevice,
    SignInOutcome,
    User,
)
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import AllowedNetwork, Company
from mnvault.companies.networks import address_allowed
from mnvault.domain import numbers
from mnvault.domain.roles import Capability, Role, needs_second_factor, roles_with
from mnvault.paths import INITIAL_PASSWORD_FILE

# Roles that reach numbers or decide who does: they must use a second factor.
TWO_FACTOR_ROLES = frozenset(role for role in Role.values if needs_second_factor(role))
RECOVERY_CODES = 10


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


# Outcomes also written to the audit chain, where they cannot be erased: the refusals, and a
# phone enrolled or replaced (whoever holds the phone holds the account).
REFUSALS = frozenset(
    {
        SignInOutcome.BAD_PASSWORD,
        SignInOutcome.LOCKED,
        SignInOutcome.THROTTLED,
        SignInOutcome.BAD_CODE,
        SignInOutcome.TIMEOUT,
    }
)
AUDITED: dict[str, Action] = {
    SignInOutcome.BAD_PASSWORD: Action.AUTH_BAD_PASSWORD,
    SignInOutcome.LOCKED: Action.AUTH_LOCKED,
    SignInOutcome.THROTTLED: Action.AUTH_THROTTLED,
    SignInOutcome.BAD_CODE: Action.AUTH_BAD_CODE,
    SignInOutcome.TIMEOUT: Action.AUTH_TIMEOUT,
    SignInOutcome.ENROLLED: Action.AUTH_ENROLLED,
}
HIDDEN = "(hidden)"


def record(request: HttpRequest, outcome: str, *, user: User | None, username: str = "") -> None:
    """One line of the login history (domain R3); a refusal also goes to the audit log. What
    was typed as a user name is kept, unless it looks like an individual number (someone
    typing theirs into the wrong box)."""
    typed = _typed(username, user)
    address = client_address(request)
    with transaction.atomic():
        LoginEvent.objects.create(
            user=user,
            username=typed,
            outcome=outcome,
            client_address=address,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
        )
        # Only for existing accounts: unknown names stay in the login history, so nobody can
        # flood the chain (and its global append lock) without an account to lock out.
        if outcome in AUDITED and user is not None:
            refused = outcome in REFUSALS
            audit.record(
                actor=Actor.of(user),
                action=AUDITED[outcome],
                outcome=Outcome.REFUSED if refused else Outcome.OK,
                reason=outcome if refused else "",
                client_address=address,
            )


def change_password(request: HttpRequest, form: PasswordChangeForm) -> User:
    """The user's new password from a valid form: saved, a one-time password's duty to change
    lifted, and recorded, in one transaction."""
    with transaction.atomic():
        user = form.save()
        if user.must_change_password:
            user.must_change_password = False
            user.save(update_fields=["must_change_password"])
            if user.is_installation_admin:  # the first admin's one-time password, if left
                transaction.on_commit(_forget_initial_password)
        audit.record(
            actor=Actor.of(user),
            action=Action.AUTH_PASSWORD_CHANGED,
            client_address=client_address(request),
        )
    return user


def _forget_initial_password() -> None:
    """The one-time password ``mnvault serve`` left in the data directory is of no use once
    changed, and nothing secret should outlive its use."""
    (Path(settings.DATA_DIR) / INITIAL_PASSWORD_FILE).unlink(missing_ok=True)


def needs_two_factor(user: User) -> bool:
    return (
        user.is_installation_admin
        or Membership.objects.filter(
            user=user, role__in=TWO_FACTOR_ROLES, revoked_at__isnull=True
        ).exists()
    )


def can_reveal(user: User) -> bool:
    return Membership.objects.filter(
        user=user, role__in=roles_with(Capability.NUMBER_REVEAL), revoked_at__isnull=True
    ).exists()


@dataclass(frozen=True)
class Attempt:
    user: User | None
    error: str = ""


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def locked_message() -> str:
    return _("This account is locked after repeated failures. Try again later.")


def throttled_message() -> str:
    return _("Too many failed sign-ins from here. Wait a few minutes, then try again.")


# --- throttling by source ---------------------------------------------------------------------

FAILURES = (SignInOutcome.BAD_PASSWORD, SignInOutcome.BAD_CODE)
# An address where the user completed a sign-in this recently is theirs.
KNOWN_ADDRESS_DAYS = 90
# Failures for one user name from all the addresses it is not known at, together: this many
# times the lock-out figure (a password tried from many addresses at once).
UNKNOWN_SOURCES_FACTOR = 3


def _window_start() -> datetime:
    return timezone.now() - timedelta(minutes=settings.MNVAULT_LOCKOUT_MINUTES)


def _completed(user: User) -> list[SignInOutcome]:
    """The outcomes that end a sign-in: the second factor for those who need one."""
    done = [SignInOutcome.VERIFIED, SignInOutcome.RECOVERY_CODE, SignInOutcome.ENROLLED]
    return done if needs_two_factor(user) else [*done, SignInOutcome.OK]


def known_addresses(user: User) -> Callable[[str], bool]:
    """A test of whether the user is known at an address: they completed a sign-in there in
    the last ``KNOWN_ADDRESS_DAYS`` days, or it lies inside an allowed network (domain R8) of
    a company they hold a role in."""
    since = timezone.now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    seen = set(
        LoginEvent.objects.filter(user=user, outcome__in=_completed(user), at__gte=since)
        .values_list("client_address", flat=True)
        .distinct()
    )
    companies = Membership.objects.filter(user=user, revoked_at__isnull=True).values("company_id")
    cidrs = list(
        AllowedNetwork.objects.filter(company_id__in=companies).values_list("cidr", flat=True)
    )
    return lambda address: bool(address) and (address in seen or address_allowed(address, cidrs))


def throttled(username: str, address: str, user: User | None) -> bool:
    """Whether an attempt for ``username`` from ``address`` is held back now (``user`` is the
    account of that name, if there is one). Counted alike for names with and without an
    account, so the answer does not tell which names exist."""
    known = known_addresses(user) if user is not None else (lambda _address: False)
    if known(address):
        return False
    failures = LoginEvent.objects.filter(outcome__in=FAILURES, at__gte=_window_start())
    if failures.filter(client_address=address).count() >= settings.MNVAULT_SIGNIN_ADDRESS_FAILURES:
        return True  # many names tried from here: spraying
    limit = settings.MNVAULT_LOCKOUT_FAILURES
    named = failures.filter(username=_typed(username, user))
    if named.filter(client_address=address).count() >= limit:
        return True
    sources = named.values_list("client_address", flat=True)
    return sum(1 for source in sources if not known(source)) >= limit * UNKNOWN_SOURCES_FACTOR


def _typed(username: str, user: User | None) -> str:
    """The user name as the login history keeps it."""
    typed = (username or (user.get_username() if user else ""))[:150]
    return HIDDEN if numbers.holds_number(typed) else typed


def shut_out(request: HttpRequest, user: User) -> str:
    """Why ``user`` may not go on from this address now: "locked", "throttled" or ""."""
    user.refresh_from_db(fields=["locked_until"])
    if _locked(user):
        return "locked"
    if throttled(user.get_username(), client_address(request), user):
        return "throttled"
    return ""


def _failed(request: HttpRequest, user: User) -> bool:
    """After a failure recorded for ``user``: count it towards the lock-out when it came from
    an address the user is known at (elsewhere the login history alone counts it, towards
    the throttle). True when the account is now locked."""
    if known_addresses(user)(client_address(request)):
        return _count_failure(user)
    return False


def check_password(request: HttpRequest, username: str, password: str) -> Attempt:
    """The user, or why not. A locked account, or a throttled source, is refused before the
    password is checked."""
    known = User.objects.filter(username=username).first()
    if known is not None and _locked(known):
        record(request, SignInOutcome.LOCKED, user=known)
        return Attempt(None, locked_message())
    if throttled(username, client_address(request), known):
        record(request, SignInOutcome.THROTTLED, user=known, username=username)
        return Attempt(None, throttled_message())
    user = authenticate(request, username=username, password=password)
    if user is None:
        record(request, SignInOutcome.BAD_PASSWORD, user=known, username=username)
        if known is not None and _failed(request, known):
            return Attempt(None, locked_message())
        return Attempt(None, _("Wrong user name or password."))
    if not needs_two_factor(user):  # otherwise only an accepted code clears the failures
        _reset_failures(user)
    record(request, SignInOutcome.OK, user=user)
    return Attempt(user)


def _count_failure(user: User) -> bool:
    """Count a failure; True when it locks the account."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.failed_logins += 1
        locks = user.failed_logins >= settings.MNVAULT_LOCKOUT_FAILURES
        if locks:
            user.locked_until = timezone.now() + timedelta(minutes=settings.MNVAULT_LOCKOUT_MINUTES)
            user.failed_logins = 0
        user.save(update_fields=["failed_logins", "locked_until"])
    return locks


def _reset_failures(user: User) -> None:
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)


def totp_device(user: User, *, confirmed: bool = True) -> SealedTOTPDevice | None:
    _seal_legacy(user)
    return SealedTOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def _seal_legacy(user: User) -> None:
    """A phone or recovery codes enrolled before mnvault sealed them, and not converted by the
    migration (the key file could not be read then), are converted at the user's first use."""
    if (
        TOTPDevice.objects.filter(user=user).exists()
        or StaticDevice.objects.filter(user=user).exists()
    ):
        twofactor.convert_legacy(user_id=user.pk)


def check_code(request: HttpRequest, user: User, code: str) -> Device | None:
    """The device that accepts ``code`` (a TOTP code or an unused recovery code), or None.
    Wrong codes count like wrong passwords: towards the lock-out from an address the user is
    known at, towards the throttle from anywhere else."""
    if _locked(user):
        record(request, SignInOutcome.LOCKED, user=user)
        return None
    if throttled(user.get_username(), client_address(request), user):
        record(request, SignInOutcome.THROTTLED, user=user)
        return None
    device = _device_accepting(user, code)
    if device is not None:
        recovery = isinstance(device, RecoveryCodeDevice)
        outcome = SignInOutcome.RECOVERY_CODE if recovery else SignInOutcome.VERIFIED
        record(request, outcome, user=user)
        _reset_failures(user)
        return device
    record(request, SignInOutcome.BAD_CODE, user=user)
    _failed(request, user)
    return None


def _device_accepting(user: User, code: str) -> Device | None:
    code = "".join(code.split())
    _seal_legacy(user)
    with transaction.atomic():  # the devices are locked while checked (django-otp throttling)
        return next(
            (
                d
                for d in devices_for_user(user, confirmed=True, for_verify=True)
                if d.verify_token(code)
            ),
            None,
        )


def reauthenticate(request: HttpRequest, user: User, *, password: str = "", code: str = "") -> bool:
    """A signed-in user confirms who they are again ("sudo mode") with their password or a
    one-time code (TOTP or recovery code). Recorded in the login history either way; a
    failure counts like a failed sign-in (towards the lock-out or the throttle)."""
    if _locked(user):
        record(request, SignInOutcome.LOCKED, user=user)
        return False
    if throttled(user.get_username(), client_address(request), user):
        record(request, SignInOutcome.THROTTLED, user=user)
        return False
    accepted = _device_accepting(user, code) is not None if code else user.check_password(password)
    if accepted:
        record(request, SignInOutcome.REAUTHENTICATED, user=user)
        _reset_failures(user)
        return True
    record(request, SignInOutcome.BAD_CODE if code else SignInOutcome.BAD_PASSWORD, user=user)
    _failed(request, user)
    return False


def start_enrolment(user: User) -> SealedTOTPDevice:
    """An unconfirmed TOTP device for the enrolment page (a new one each time it is shown)."""
    SealedTOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return twofactor.new_totp_device(user)


def totp_secret(device: SealedTOTPDevice) -> bytes:
    """The secret in clear, for the enrolment page only (the phone must be given it)."""
    return twofactor.totp_secret(device)


def config_url(device: SealedTOTPDevice) -> str:
    return twofactor.config_url(device)


def confirm_enrolment(
    request: HttpRequest, user: User, code: str, *, verified: bool
) -> list[str] | None:
    """Confirm the pending TOTP device with a code from the phone; on success, the recovery
    codes, shown once (only their device keeps them). Replacing a confirmed phone needs a
    session that already gave a code (``verified``)."""
    if totp_device(user) is not None and not verified:
        record(request, SignInOutcome.BAD_CODE, user=user)
        return None
    device = totp_device(user, confirmed=False)
    if device is None or not twofactor.verify_totp(device, "".join(code.split())):
        record(request, SignInOutcome.BAD_CODE, user=user)
        return None
    with transaction.atomic():
        SealedTOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = twofactor.new_recovery_codes(user, RECOVERY_CODES)
    record(request, SignInOutcome.ENROLLED, user=user)
    return codes


def idle_timeout(user: User, company: Company | None = None) -> timedelta:
    """Short for those who can reveal numbers (design: 15 minutes by default). A company may
    set a shorter one for its members on its pages; it never lengthens the default, and a
    company one has no role in has no say (else any URL could stretch a session)."""
    minutes = (
        settings.MNVAULT_IDLE_MINUTES_REVEAL if can_reveal(user) else settings.MNVAULT_IDLE_MINUTES
    )
    if company is not None and company.idle_minutes:
        member = Membership.objects.filter(
            user=user, company=company, revoked_at__isnull=True
        ).exists()
        if member:
            minutes = min(minutes, company.idle_minutes)
    return timedelta(minutes=minutes)
