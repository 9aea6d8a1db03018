"""``mnvault createadmin --name``: the installation admin's full name, shown beside its user
name on the pages and in the audit log's export; optional."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mnvault.accounts.models import User
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
GOOD_PASSWORD = "tulip cobalt harbour 91"


@pytest.mark.parametrize(
    ("args", "full_name"), [(["--name", " 管理 太郎 "], "管理 太郎"), ([], "")]
)
def test_createadmin_takes_an_optional_full_name(monkeypatch, args, full_name):
    monkeypatch.setenv("MNVAULT_ADMIN_PASSWORD", GOOD_PASSWORD)
    call_command("createadmin", "--username", "kanri", *args)
    admin = User.objects.get(username="kanri")
    assert admin.is_installation_admin and admin.get_full_name() == full_name
