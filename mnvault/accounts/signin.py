"""Signing in: password with lock-out, then a TOTP code (django-otp) for every user who can
reveal numbers or change who can. Each attempt is written to the login history (domain R3).

The views only call these functions; nothing here builds HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mnvault.accounts.models import LoginEvent, Membership, SignInOutcome, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.domain.roles import Capability, Role, needs_second_factor, roles_with

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
        SignInOutcome.BAD_CODE,
        SignInOutcome.TIMEOUT,
    }
)
AUDITED: dict[str, Action] = {
    SignInOutcome.BAD_PASSWORD: Action.AUTH_BAD_PASSWORD,
    SignInOutcome.LOCKED: Action.AUTH_LOCKED,
    SignInOutcome.BAD_CODE: Action.AUTH_BAD_CODE,
    SignInOutcome.TIMEOUT: Action.AUTH_TIMEOUT,
    SignInOutcome.ENROLLED: Action.AUTH_ENROLLED,
}
HIDDEN = "(hidden)"


def record(request: HttpRequest, outcome: str, *, user: User | None, username: str = "") -> None:
    """One line of the login history (domain R3); a refusal also goes to the audit log. What
    was typed as a user name is kept, unless it looks like an individual number (someone
    typing theirs into the wrong box)."""
    typed = (username or (user.get_username() if user else ""))[:150]
    if numbers.holds_number(typed):
        typed = HIDDEN
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
        audit.record(
            actor=Actor.of(user),
            action=Action.AUTH_PASSWORD_CHANGED,
            client_address=client_address(request),
        )
    return user


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


def check_password(request: HttpRequest, username: str, password: str) -> Attempt:
    """The user, or why not. A locked account is refused before its password is checked."""
    known = User.objects.filter(username=username).first()
    if known is not None and _locked(known):
        record(request, SignInOutcome.LOCKED, user=known)
        return Attempt(None, locked_message())
    user = authenticate(request, username=username, password=password)
    if user is None:
        record(request, SignInOutcome.BAD_PASSWORD, user=known, username=username)
        if known is not None and _count_failure(known):
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


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def check_code(request: HttpRequest, user: User, code: str) -> Device | None:
    """The device that accepts ``code`` (a TOTP code or an unused recovery code), or None.
    Wrong codes count towards the lock-out like wrong passwords."""
    if _locked(user):
        record(request, SignInOutcome.LOCKED, user=user)
        return None
    code = "".join(code.split())
    with transaction.atomic():  # the devices are locked while checked (django-otp throttling)
        device = next(
            (
                d
                for d in devices_for_user(user, confirmed=True, for_verify=True)
                if d.verify_token(code)
            ),
            None,
        )
    if device is not None:
        recovery = isinstance(device, StaticDevice)
        outcome = SignInOutcome.RECOVERY_CODE if recovery else SignInOutcome.VERIFIED
        record(request, outcome, user=user)
        _reset_failures(user)
        return device
    record(request, SignInOutcome.BAD_CODE, user=user)
    _count_failure(user)
    return None


def start_enrolment(user: User) -> TOTPDevice:
    """An unconfirmed TOTP device for the enrolment page (a new one each time it is shown)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="mnvault", confirmed=False)


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
    if device is None or not device.verify_token("".join(code.split())):
        record(request, SignInOutcome.BAD_CODE, user=user)
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        static = StaticDevice.objects.create(user=user, name="recovery")
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
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
