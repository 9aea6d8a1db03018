"""The same link submitted at the same moment from several phones registers once.

Real OS processes against a real installation (``mnvault init`` in a temporary directory, as
in the audit log's concurrency test): threads in one process on pytest-django's in-memory
SQLite database would test its shared-cache table locks, not the database's own locking.
SQLite by default; PostgreSQL when ``DATABASE_URL`` names one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from mnvault.audit.tests.test_concurrency import _run

pytestmark = pytest.mark.slow
CONTENDERS = 4

# An employee with a complete draft behind an open invitation; prints the invitation's id.
SETUP = textwrap.dedent(
    """
    import secrets
    from datetime import date, timedelta
    import django
    django.setup()
    from django.utils import timezone
    from mnvault.collection.invitations import token_hash
    from mnvault.collection.models import Invitation
    from mnvault.companies.models import Company, CompanyPurpose
    from mnvault.people.models import Person
    from mnvault.collection import drafts

    company = Company.objects.create(name="race")
    CompanyPurpose.objects.create(company=company, purpose="withholding")
    person = Person.objects.create(
        company=company, kind="employee", family_name="a", given_name="b",
        birth_date=date(1990, 1, 1),
    )
    invitation = Invitation.objects.create(
        company=company, person=person, token_hash=token_hash(secrets.token_urlsafe(32)),
        delivery="print", purposes=["withholding"],
        expires_at=timezone.now() + timedelta(days=1),
    )
    drafts.enter_number(invitation=invitation, number="{number}")
    for side in (b"front", b"back"):
        drafts.add_document(
            invitation=invitation, kind="my_number_card", content=side, content_type="image/jpeg"
        )
    print(invitation.pk)
    """
)

CONTENDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import django
    django.setup()
    from django.db import connection
    from django.utils import timezone
    from mnvault.collection import registration
    from mnvault.collection.models import Invitation
    from mnvault.collection.errors import InvitationClosed

    invitation = Invitation.objects.get(pk=int(sys.argv[1]))
    ready, go = Path(sys.argv[2]), Path(sys.argv[3])
    connection.ensure_connection()
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    try:
        registration.submit(
            invitation=invitation, notice_acknowledged_at=timezone.now(), attested=False
        )
    except InvitationClosed:
        print("closed")
    else:
        print("submitted")
    """
)

REPORT = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from mnvault.audit.models import AuditEntry
    from mnvault.collection.models import Submission
    print(json.dumps({
        "submitted": Submission.objects.filter(status="submitted").count(),
        "audited": AuditEntry.objects.filter(action="collection.submit").count(),
    }))
    """
)


def _start(env, tmp_path, invitation_id: str, i: int) -> subprocess.Popen:
    args = [sys.executable, "-c", CONTENDER, invitation_id, str(tmp_path / f"ready{i}")]
    return subprocess.Popen(
        [*args, str(tmp_path / "go")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_same_link_submitted_at_once_registers_once(tmp_path, installation, make_number):
    env, _data = installation
    setup = _run([sys.executable, "-c", SETUP.replace("{number}", make_number())], env, tmp_path)
    assert setup.returncode == 0, setup.stderr
    invitation_id = setup.stdout.strip()
    contenders = [_start(env, tmp_path, invitation_id, i) for i in range(CONTENDERS)]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready{i}").exists() for i in range(CONTENDERS)):
            assert all(c.poll() is None for c in contenders), "a contender died before the start"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outcomes = []
        for contender in contenders:
            out, err = contender.communicate(timeout=120)
            assert contender.returncode == 0, err
            outcomes.append(out.strip())
    finally:
        for contender in contenders:
            if contender.poll() is None:
                contender.kill()
    assert sorted(outcomes) == ["closed"] * (CONTENDERS - 1) + ["submitted"]
    report = _run([sys.executable, "-c", REPORT], env, tmp_path)
    assert json.loads(report.stdout) == {"submitted": 1, "audited": 1}
