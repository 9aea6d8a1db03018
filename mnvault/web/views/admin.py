"""Who can do what in a company (domain R1, R2) and the company's settings (domain R8, R10,
R11). Every change goes through a service that checks the acting user's role and writes the
audit entry; these views only show forms and what the services answer. A refusal is shown on
the page with status 403; bad input comes back on its field with nothing changed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from mnvault.accounts.models import Membership, Role
from mnvault.accounts.services import (
    RoleRefused,
    create_user,
    grant_role,
    may_grant,
    revoke_role,
)
from mnvault.companies.models import AllowedNetwork
from mnvault.companies.services import (
    CompanyRefused,
    add_network,
    remove_network,
    update_settings,
)
from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import can
from mnvault.people.models import PersonKind
from mnvault.web.admin_forms import GrantRoleForm, NetworkForm, NewUserForm, SettingsForm
from mnvault.web.company import CompanyRequest, company_page
from mnvault.web.reauth import reauthenticated

GRANT, NEW = "grant", "new"  # form prefixes: two forms with a user name on one page


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _users_url(request: CompanyRequest, *args: object, **kwargs: object) -> str:
    return reverse("web:users", args=[request.company.pk])


# Users and roles ------------------------------------------------------------------------------


@company_page(capability=C.USERS_VIEW)
def users(request: CompanyRequest) -> HttpResponse:
    """Every membership, active and revoked, with who granted it and when: rights are
    reviewable (domain R2). Those who may manage people's roles also get the forms."""
    return _render_users(request)


def _render_users(
    request: CompanyRequest,
    *,
    grant: GrantRoleForm | None = None,
    new: NewUserForm | None = None,
    error: str = "",
) -> HttpResponse:
    company = request.company
    kinds = dict(PersonKind.choices)
    memberships = (
        Membership.objects.filter(company=company)
        .select_related("user", "granted_by")
        .order_by(F("revoked_at").desc(nulls_first=True), "user__username", "role")
    )
    rows = [
        {
            "membership": m,
            "kinds": [kinds.get(k, k) for k in m.person_kinds],
            "may_revoke": m.revoked_at is None
            and may_grant(request.user, company, m.role, to=m.user),
        }
        for m in memberships
    ]
    grantable = [role for role in Role.values if may_grant(request.user, company, role)]
    context = {
        "rows": rows,
        "may_manage": can(request.roles, C.USERS_CREATE),
        "grant_form": (grant or GrantRoleForm(prefix=GRANT)).offer(grantable),
        "new_form": new or NewUserForm(prefix=NEW),
        "password_rules": password_validators_help_texts(),
        "error": error,
    }
    return render(request, "web/users.html", context, status=403 if error else 200)


@require_POST
@company_page(capability=C.USERS_VIEW)
@reauthenticated(back=_users_url)
def user_grant(request: CompanyRequest) -> HttpResponse:
    form = GrantRoleForm(request.POST, prefix=GRANT)
    if not form.is_valid():
        return _render_users(request, grant=form)
    data = form.cleaned_data
    try:
        grant_role(
            acting_user=request.user,
            user=data["username"],
            company=request.company,
            role=data["role"],
            person_kinds=data["person_kinds"],
        )
    except RoleRefused:  # audited by the service
        return _render_users(request, grant=form, error=_("You may not grant this role."))
    messages.success(request, _("The role was granted."))
    return redirect("web:users", request.company.pk)


@require_POST
@company_page(capability=C.USERS_VIEW)
@reauthenticated(back=_users_url)
def user_revoke(request: CompanyRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership, pk=membership_id, company=request.company, revoked_at__isnull=True
    )
    try:
        revoke_role(acting_user=request.user, membership=membership)
    except RoleRefused:
        return _render_users(request, error=_("You may not revoke this role."))
    messages.success(request, _("The role was revoked."))
    return redirect("web:users", request.company.pk)


@sensitive_post_parameters(f"{NEW}-password")
@require_POST
@company_page(capability=C.USERS_VIEW)
def user_new(request: CompanyRequest) -> HttpResponse:
    """A new account, without any role: the next step is to grant one."""
    form = NewUserForm(request.POST, prefix=NEW)
    if not form.is_valid():
        return _render_users(request, new=form)
    try:
        user = create_user(
            acting_user=request.user,
            company=request.company,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            full_name=form.cleaned_data["full_name"],
        )
    except RoleRefused:
        return _render_users(request, new=form, error=_("You may not create users."))
    except ValidationError as invalid:  # a taken name or a weak password, on its field
        form.add_error(None, invalid)
        return _render_users(request, new=form)
    messages.success(
        request,
        _("The account %(name)s was created. Grant it a role below.") % {"name": user.username},
    )
    return redirect("web:users", request.company.pk)


# Company settings -----------------------------------------------------------------------------


@company_page(capability=C.SETTINGS_EDIT)
def settings_page(request: CompanyRequest) -> HttpResponse:
    """法人番号, purposes notified (domain R11), idle timeout, where numbers are kept (R10)
    and the networks the company's pages may be reached from (R8)."""
    company = request.company
    if request.method != "POST":
        return _render_settings(request)
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, form=form)
    try:
        changed = update_settings(acting_user=request.user, company=company, **form.cleaned_data)
    except CompanyRefused:
        return _render_settings(request, form=form, error=_("You may not change these settings."))
    except ValidationError as invalid:  # a corporate number another company has
        form.add_error(None, invalid)
        return _render_settings(request, form=form)
    messages.success(request, _("Settings saved.") if changed else _("Nothing was changed."))
    return redirect("web:settings", company.pk)


def _initial(company) -> dict:
    return {
        "corporate_number": company.corporate_number,
        "purposes": sorted(company.notified_purposes()),
        "idle_minutes": company.idle_minutes,
        "data_country": company.data_country,
    }


def _render_settings(
    request: CompanyRequest,
    *,
    form: SettingsForm | None = None,
    network_form: NetworkForm | None = None,
    error: str = "",
) -> HttpResponse:
    company = request.company
    context = {
        "form": form or SettingsForm(initial=_initial(company)),
        "network_form": network_form or NetworkForm(),
        "networks": AllowedNetwork.objects.filter(company=company)
        .select_related("created_by")
        .order_by("cidr"),
        "address": _client_address(request),
        "error": error,
    }
    return render(request, "web/settings.html", context, status=403 if error else 200)


@require_POST
@company_page(capability=C.SETTINGS_EDIT)
def network_add(request: CompanyRequest) -> HttpResponse:
    form = NetworkForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, network_form=form)
    try:
        add_network(
            acting_user=request.user,
            company=request.company,
            cidr=form.cleaned_data["cidr"],
            note=form.cleaned_data["note"],
            client_address=_client_address(request),
        )
    except CompanyRefused:
        error = _("You may not change these settings.")
        return _render_settings(request, network_form=form, error=error)
    except ValidationError as invalid:  # already there, or it would shut oneself out
        form.add_error(None, invalid)
        return _render_settings(request, network_form=form)
    messages.success(request, _("The range was added."))
    return redirect("web:settings", request.company.pk)


@require_POST
@company_page(capability=C.SETTINGS_EDIT)
def network_remove(request: CompanyRequest, network_id: int) -> HttpResponse:
    network = get_object_or_404(AllowedNetwork, pk=network_id, company=request.company)
    try:
        remove_network(
            acting_user=request.user, network=network, client_address=_client_address(request)
        )
    except CompanyRefused:
        return _render_settings(request, error=_("You may not change these settings."))
    except ValidationError as invalid:  # it would shut oneself out
        messages.error(request, " ".join(invalid.messages))
        return redirect("web:settings", request.company.pk)
    messages.success(request, _("The range was removed."))
    return redirect("web:settings", request.company.pk)
