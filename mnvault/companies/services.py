"""Creating companies and changing their settings: 法人番号, the purposes they notify, idle
timeout, where data is kept and the networks their pages may be reached from. Each change checks
the acting user's role and writes its audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from stdnum.jp import cn

from mnvault.accounts.models import Membership, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry
from mnvault.companies.countries import normalise_country
from mnvault.companies.models import AllowedNetwork, Company, CompanyPurpose
from mnvault.companies.networks import address_allowed, normalise_network
from mnvault.companies.purposes import Purpose
from mnvault.domain.roles import Capability, roles_with

SETTINGS_ACTION = Action.COMPANIES_SETTINGS_UPDATE


class CompanyRefused(PermissionError):
    pass


def create_company(
    *,
    acting_user: User | Actor,
    name: str,
    corporate_number: str = "",
    purposes: Iterable[str] = (),
) -> Company:
    """Only the installation admin (or the operator at the command line) creates companies;
    never an API client."""
    actor = acting_user if isinstance(acting_user, Actor) else Actor.of(acting_user)
    is_admin = actor.kind == "user" and actor.user is not None and actor.user.is_installation_admin
    if not (is_admin or actor.kind == "system"):
        with transaction.atomic():
            audit.record(
                actor=actor,
                action=Action.COMPANIES_CREATE,
                outcome="refused",
                reason="not_installation_admin",
            )
        raise CompanyRefused(_("Only the installation administrator creates companies."))
    company = Company(name=name, corporate_number=cn.compact(corporate_number))
    company.full_clean()
    purposes = list(dict.fromkeys(purposes))
    for purpose in purposes:
        Purpose(purpose)  # ValueError for an unknown code
    with transaction.atomic():
        company.save()
        CompanyPurpose.objects.bulk_create(
            CompanyPurpose(company=company, purpose=p) for p in purposes
        )
        audit.record(
            actor=actor,
            action=Action.COMPANIES_CREATE,
            company_id=company.pk,
            detail={"purposes": purposes},
        )
    return company


def may_change_settings(user: User, company: Company) -> bool:
    return Membership.objects.filter(
        user=user,
        company=company,
        role__in=roles_with(Capability.SETTINGS_EDIT),
        revoked_at__isnull=True,
    ).exists()


def _check_settings_role(acting_user: User, company: Company) -> None:
    """Refused: audited as such, nothing changed."""
    if may_change_settings(acting_user, company):
        return
    with transaction.atomic():
        audit.record(
            actor=Actor.of(acting_user),
            action=SETTINGS_ACTION,
            outcome="refused",
            reason="role",
            company_id=company.pk,
        )
    raise CompanyRefused(_("You may not change this company's settings."))


def update_settings(
    *,
    acting_user: User,
    company: Company,
    corporate_number: str,
    purposes: Iterable[str],
    idle_minutes: int | None,
    data_country: str,
) -> list[str]:
    """Set the company's settings; the names of the fields that changed, [] when none did
    (and then nothing is written). Bad values raise ValidationError keyed by field name, with
    nothing changed. The audit entry holds field names only, never values."""
    _check_settings_role(acting_user, company)
    fresh = Company.objects.get(pk=company.pk)
    codes = list(dict.fromkeys(purposes))
    unknown = [c for c in codes if c not in Purpose.values]
    if unknown:
        raise ValidationError({"purposes": _("Unknown purpose.")})
    wanted = {
        "corporate_number": cn.compact(corporate_number) if corporate_number else "",
        "idle_minutes": idle_minutes,
        "data_country": normalise_country(data_country),
    }
    changed = [name for name, value in wanted.items() if getattr(fresh, name) != value]
    for name in changed:
        setattr(fresh, name, wanted[name])
    taken = (
        Company.objects.filter(corporate_number=fresh.corporate_number)
        .exclude(pk=fresh.pk)
        .exists()
    )
    if fresh.corporate_number and taken:
        raise ValidationError(
            {"corporate_number": _("Another company already has this corporate number.")}
        )
    fresh.full_clean(exclude=["name"], validate_constraints=False)
    notified = fresh.notified_purposes()
    if notified != set(codes):
        changed.append("purposes")
    if not changed:
        return []
    with transaction.atomic():
        fields = [n for n in changed if n != "purposes"]
        if fields:
            fresh.save(update_fields=fields)
        CompanyPurpose.objects.filter(company=fresh).exclude(purpose__in=codes).delete()
        CompanyPurpose.objects.bulk_create(
            CompanyPurpose(company=fresh, purpose=p) for p in codes if p not in notified
        )
        audit.record(
            actor=Actor.of(acting_user),
            action=SETTINGS_ACTION,
            company_id=fresh.pk,
            detail={"fields": changed},
        )
    for name in changed:
        if name != "purposes":
            setattr(company, name, getattr(fresh, name))
    return changed


def _check_own_address(company: Company, cidrs: list[str], client_address: str | None) -> None:
    """Nobody shuts themselves out: after the change, the address the change comes from must
    still reach the company's pages (None: from the command line, not checked)."""
    if client_address is None or not cidrs or address_allowed(client_address, cidrs):
        return
    raise ValidationError(
        _(
            "Your own address (%(address)s) would be outside every allowed range: "
            "add a range that includes it first."
        )
        % {"address": client_address or "?"},
        code="own_address",
    )


def add_network(
    *,
    acting_user: User,
    company: Company,
    cidr: str,
    note: str = "",
    client_address: str | None = None,
) -> AllowedNetwork:
    """Allow ``cidr`` (IPv4 or IPv6; host bits dropped) to reach the company's pages. The
    first range added restricts the company to its ranges (domain R8)."""
    _check_settings_role(acting_user, company)
    try:
        cidr = normalise_network(cidr)
    except ValidationError as bad:
        raise ValidationError({"cidr": bad.messages}) from None
    existing = list(AllowedNetwork.objects.filter(company=company).values_list("cidr", flat=True))
    if cidr in existing:
        raise ValidationError({"cidr": _("This range is already allowed.")})
    try:
        _check_own_address(company, [*existing, cidr], client_address)
    except ValidationError as bad:
        raise ValidationError({"cidr": bad.messages}) from None
    network = AllowedNetwork(company=company, cidr=cidr, note=note.strip(), created_by=acting_user)
    network.full_clean(exclude=["company", "created_by"], validate_constraints=False)
    with transaction.atomic():
        network.save()
        audit.record(
            actor=Actor.of(acting_user),
            action=SETTINGS_ACTION,
            company_id=company.pk,
            # A range is dots, colons and a slash: it can never read as an individual number.
            detail={"fields": ["networks"], "added": network.cidr},
        )
    return network


def remove_network(
    *, acting_user: User, network: AllowedNetwork, client_address: str | None = None
) -> None:
    company = Company.objects.get(pk=network.company_id)
    _check_settings_role(acting_user, company)
    rest = list(
        AllowedNetwork.objects.filter(company=company)
        .exclude(pk=network.pk)
        .values_list("cidr", flat=True)
    )
    _check_own_address(company, rest, client_address)
    with transaction.atomic():
        network.delete()
        audit.record(
            actor=Actor.of(acting_user),
            action=SETTINGS_ACTION,
            company_id=company.pk,
            detail={"fields": ["networks"], "removed": network.cidr},
        )


def clear_networks(*, actor: Actor, company: Company) -> int:
    """Remove every allowed network of ``company``: the way back in when the office's address
    changed and nobody can reach the pages. Only from the command line (the operator, who
    holds the key file anyway); audited."""
    with transaction.atomic():
        removed = [n.cidr for n in AllowedNetwork.objects.filter(company=company)]
        AllowedNetwork.objects.filter(company=company).delete()
        audit.record(
            actor=actor,
            action=Action.COMPANIES_SETTINGS_UPDATE,
            company_id=company.pk,
            detail={"fields": ["networks"], "cleared": len(removed)},
        )
    return len(removed)


def record_network_refusal(*, user: User, company_id: int, address: str, page: str) -> None:
    """A member reached a company page from outside its allowed networks (domain R8): the
    refusal is recorded with the address and the page's name."""
    with transaction.atomic():
        audit.record(
            actor=Actor.of(user),
            action=Action.WEB_IP_REFUSED,
            outcome="refused",
            reason="network_not_allowed",
            company_id=company_id,
            client_address=address[:64],
            detail={"page": page},
        )


def companies_created_by(user: User) -> QuerySet[Company]:
    """The companies ``user`` created, as the audit log records them: the installation admin
    holds no role in them, yet should find them again."""
    created = AuditEntry.objects.filter(
        action=Action.COMPANIES_CREATE, outcome="ok", actor_kind="user", actor_id=user.pk
    ).values("company_id")
    return Company.objects.filter(pk__in=created).order_by("name")
