"""The users-and-roles page: who can do what, with dates (domain R2), for those who manage or
audit it; grants, revocations and new accounts only through the services, every refusal shown
with status 403 and audited, bad input on its field with nothing changed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mnvault.accounts.models import Membership, Role, User
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
SEE = ["company_admin", "responsible_manager", "auditor"]
NOT_SEE = ["handler", "staff", "installation_admin", "no_role", "other_handler"]
GOOD_PASSWORD = "purple elephant marmalade 7"


def url(company, name="users", *args) -> str:
    return reverse(f"web:{name}", args=[company.pk, *args])


def last_entry() -> AuditEntry:
    return AuditEntry.objects.latest("seq")


@pytest.mark.parametrize("persona", SEE)
def test_the_page_lists_every_membership_with_dates(signed_in, personas, persona):
    revoked = Membership.objects.create(
        user=personas.no_role,
        company=personas.company,
        role=Role.HANDLER,
        person_kinds=["payee"],
        granted_by=personas.responsible_manager,
        revoked_at=timezone.now(),
    )
    response = signed_in(getattr(personas, persona)).get(url(personas.company))
    page = response.content.decode()
    assert response.status_code == 200
    for role in Role.values:  # each persona holds its role in the company (a link to its history)
        assert f">{role}</a></td>" in page
    assert "no_role" in page and "responsible_manager" in page  # granted by
    assert revoked.revoked_at is not None
    assert (
        revoked.revoked_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d") in page
    )
    assert "other_handler" not in page  # another company's
    assert 'aria-current="page"' in page and "/users/" in page  # in the navigation


def test_the_page_is_japanese_by_default(signed_in, personas):
    page = signed_in(personas.company_admin).get(url(personas.company)).content.decode()
    assert "ユーザーと役割" in page and "事務取扱担当者" in page and "役割を付与する" in page


@pytest.mark.parametrize("persona", NOT_SEE)
def test_everyone_else_gets_404_on_every_address(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    company = personas.company
    membership = Membership.objects.get(user=personas.handler)
    entries = AuditEntry.objects.count()
    assert client.get(url(company)).status_code == 404
    assert client.post(url(company, "user_grant"), {"grant-username": "no_role"}).status_code == 404
    assert client.post(url(company, "user_new"), {"new-username": "x"}).status_code == 404
    assert client.post(url(company, "user_revoke", membership.pk)).status_code == 404
    assert AuditEntry.objects.count() == entries
    membership.refresh_from_db()
    assert membership.revoked_at is None


def test_the_auditor_sees_the_table_but_no_forms(signed_in, personas):
    page = signed_in(personas.auditor).get(url(personas.company)).content.decode()
    assert "grant-username" not in page and "new-password" not in page
    assert "/revoke" not in page


def test_the_manager_grants_a_handler_with_person_kinds(signed_in, personas):
    client = signed_in(personas.responsible_manager)
    data = {"grant-username": "no_role", "grant-role": "handler", "grant-person_kinds": ["payee"]}
    response = client.post(url(personas.company, "user_grant"), data, follow=True)
    assert response.redirect_chain == [(url(personas.company), 302)]
    membership = Membership.objects.get(user=personas.no_role)
    assert (membership.role, membership.person_kinds, membership.granted_by) == (
        "handler",
        ["payee"],
        personas.responsible_manager,
    )
    page = response.content.decode()
    assert 'role="status"' in page and "支払先" in page  # the message, and the kind's label
    entry = last_entry()
    assert (entry.action, entry.outcome) == ("accounts.role.grant", "ok")


@pytest.mark.parametrize(
    ("persona", "role"),
    [
        ("company_admin", "handler"),  # handlers are designated by the responsible manager
        ("responsible_manager", "company_admin"),
        ("auditor", "auditor"),
    ],
)
def test_a_refused_grant_is_403_with_a_message_and_audited(signed_in, personas, persona, role):
    client = signed_in(getattr(personas, persona))
    data = {"grant-username": "no_role", "grant-role": role}
    response = client.post(url(personas.company, "user_grant"), data)
    page = response.content.decode()
    assert response.status_code == 403 and 'role="alert"' in page
    assert "権限がありません" in page
    assert not Membership.objects.filter(user=personas.no_role).exists()
    entry = last_entry()
    assert (entry.action, entry.outcome) == ("accounts.role.grant", "refused")


@pytest.mark.parametrize(
    ("persona", "offered"),
    [
        ("company_admin", {"responsible_manager", "staff", "company_admin"}),
        ("responsible_manager", {"handler", "auditor", "staff"}),
    ],
)
def test_the_role_list_offers_only_the_roles_one_may_grant(signed_in, personas, persona, offered):
    page = signed_in(getattr(personas, persona)).get(url(personas.company)).content.decode()
    select = page.split('name="grant-role"', 1)[1].split("</select>", 1)[0]
    assert set(re.findall(r'<option value="([a-z_]+)"', select)) == offered


def test_the_responsible_manager_appoints_hr_staff(signed_in, personas):
    client = signed_in(personas.responsible_manager)
    data = {"grant-username": "no_role", "grant-role": "staff"}
    assert client.post(url(personas.company, "user_grant"), data).status_code == 302
    membership = Membership.objects.get(user=personas.no_role, company=personas.company)
    assert (membership.role, membership.granted_by) == ("staff", personas.responsible_manager)


def test_nobody_grants_themselves_a_role(signed_in, personas):
    client = signed_in(personas.company_admin)
    data = {"grant-username": "company_admin", "grant-role": "responsible_manager"}
    assert client.post(url(personas.company, "user_grant"), data).status_code == 403
    assert not Membership.objects.filter(
        user=personas.company_admin, role="responsible_manager"
    ).exists()


def test_an_unknown_user_name_is_a_field_error(signed_in, personas):
    client = signed_in(personas.responsible_manager)
    entries = AuditEntry.objects.count()
    data = {"grant-username": "nobody", "grant-role": "handler"}
    response = client.post(url(personas.company, "user_grant"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_grant-username_error"' in page and "このユーザー名のユーザーはいません" in page
    assert 'aria-describedby="id_grant-username_error"' in page and 'aria-invalid="true"' in page
    assert AuditEntry.objects.count() == entries
    assert Membership.objects.count() == 6


def test_the_manager_revokes_a_handler(signed_in, personas):
    membership = Membership.objects.get(user=personas.handler)
    client = signed_in(personas.responsible_manager)
    page = client.get(url(personas.company)).content.decode()
    assert url(personas.company, "user_revoke", membership.pk) in page
    response = client.post(url(personas.company, "user_revoke", membership.pk))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.revoked_at is not None
    assert (last_entry().action, last_entry().outcome) == ("accounts.role.revoke", "ok")
    page = client.get(url(personas.company)).content.decode()
    assert 'class="revoked"' in page and "handler" in page  # the history stays


def test_revoke_buttons_only_where_allowed(signed_in, personas):
    page = signed_in(personas.company_admin).get(url(personas.company)).content.decode()
    allowed = {"responsible_manager", "staff"}  # not the handler's, not their own
    for membership in Membership.objects.filter(company=personas.company):
        revoke = url(personas.company, "user_revoke", membership.pk)
        assert (revoke in page) == (membership.role in allowed), membership.role


@pytest.mark.parametrize(
    ("persona", "target"),
    [("company_admin", "handler"), ("auditor", "handler"), ("company_admin", "company_admin")],
)
def test_a_refused_revocation_is_403_and_changes_nothing(signed_in, personas, persona, target):
    membership = Membership.objects.get(user=getattr(personas, target))
    response = signed_in(getattr(personas, persona)).post(
        url(personas.company, "user_revoke", membership.pk)
    )
    assert response.status_code == 403 and 'role="alert"' in response.content.decode()
    membership.refresh_from_db()
    assert membership.revoked_at is None
    assert (last_entry().action, last_entry().outcome) == ("accounts.role.revoke", "refused")


def test_another_companys_membership_is_404(signed_in, personas):
    theirs = Membership.objects.get(user=personas.other_handler)
    response = signed_in(personas.company_admin).post(
        url(personas.company, "user_revoke", theirs.pk)
    )
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager"])
def test_a_new_account_then_a_role(signed_in, personas, persona):
    client = signed_in(getattr(personas, persona))
    data = {"new-username": "suzuki", "new-full_name": " 鈴木 花子 ", "new-password": GOOD_PASSWORD}
    response = client.post(url(personas.company, "user_new"), data, follow=True)
    assert response.redirect_chain == [(url(personas.company), 302)]
    assert "suzuki" in response.content.decode()
    user = User.objects.get(username="suzuki")
    assert user.check_password(GOOD_PASSWORD) and not Membership.objects.filter(user=user)
    assert user.get_full_name() == "鈴木 花子"
    assert (last_entry().action, last_entry().detail) == (
        "accounts.user.create",
        {"user_id": user.pk},
    )
    role = "staff" if persona == "company_admin" else "handler"
    data = {"grant-username": "suzuki", "grant-role": role}
    assert client.post(url(personas.company, "user_grant"), data).status_code == 302
    assert Membership.objects.filter(user=user, role=role).exists()
    assert "鈴木 花子" in client.get(url(personas.company)).content.decode()  # beside the name


@pytest.mark.parametrize(
    ("username", "password", "field", "message"),
    [
        ("suzuki", "short", "password", "短すぎ"),
        ("suzuki", "password1234", "password", "よく使われる"),
        ("handler", GOOD_PASSWORD, "username", "既に登録済み"),
        ("", GOOD_PASSWORD, "username", "必須"),
        ("suzuki", GOOD_PASSWORD, "full_name", "必須"),
    ],
)
def test_bad_new_accounts_are_field_errors(signed_in, personas, username, password, field, message):
    users, entries = User.objects.count(), AuditEntry.objects.count()
    full_name = "" if field == "full_name" else "鈴木 花子"
    data = {"new-username": username, "new-full_name": full_name, "new-password": password}
    response = signed_in(personas.company_admin).post(url(personas.company, "user_new"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_new-{field}_error"' in page and message in page
    assert password not in page or password == GOOD_PASSWORD  # a typed password never comes back
    assert User.objects.count() == users and AuditEntry.objects.count() == entries


def test_the_auditor_may_not_create_accounts(signed_in, personas):
    data = {"new-username": "suzuki", "new-full_name": "鈴木 花子", "new-password": GOOD_PASSWORD}
    response = signed_in(personas.auditor).post(url(personas.company, "user_new"), data)
    assert response.status_code == 403 and 'role="alert"' in response.content.decode()
    assert not User.objects.filter(username="suzuki").exists()
    assert (last_entry().action, last_entry().outcome) == ("accounts.user.create", "refused")


def test_the_forms_need_post(signed_in, personas):
    client = signed_in(personas.company_admin)
    assert client.get(url(personas.company, "user_grant")).status_code == 405
    assert client.get(url(personas.company, "user_new")).status_code == 405
