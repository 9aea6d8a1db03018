"""Helpers of the permission matrix (test_permission_matrix.py): every route of the resolved
URLconf by name, one company's worth of objects to fill in the routes' arguments, and a
snapshot of the tables a refused request must leave alone."""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property

from django.core import mail
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from mnvault.accounts.models import Membership, User
from mnvault.audit.models import AuditEntry
from mnvault.collection import drafts, registration
from mnvault.collection.models import CollectionSettings, Invitation, Submission
from mnvault.collection.tests.conftest import invite_by_email, jpeg
from mnvault.companies.models import AllowedNetwork, Company, CompanyPurpose
from mnvault.companies.services import add_network
from mnvault.conftest import make_person
from mnvault.people.models import Person
from mnvault.retention.models import DisposalBatch
from mnvault.retention.services import approve, propose
from mnvault.scheduler import tasks
from mnvault.usage import runs
from mnvault.usage.models import DocumentRun
from mnvault.usage.tests.factory import Staff, csv_bytes, unified_row
from mnvault.vault.models import NumberRecord
from mnvault.vault.services import Verification, store_number

ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")
# Inside the 127.0.0.1 the test client comes from: registering it keeps members let in.
OWN_NETWORK = "127.0.0.0/8"
RUN_YEAR = 2025


def routes(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    """(name, route) of every pattern, recursing into includes; names carry their namespace
    ("web:home"), and an unnamed pattern is listed as such so that it cannot go unnoticed."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry, route, inner)
        else:
            yield (f"{namespace}{entry.name}" if entry.name else f"<unnamed {route}>"), route


def arguments(route: str) -> list[str]:
    return ARGUMENT.findall(route)


class World:
    """The objects the routes' arguments name, all in ``personas.company``, each made on first
    use so that a test pays only for what its route needs."""

    def __init__(self, personas, make_number) -> None:
        self.personas = personas
        self.company = personas.company
        self.make_number = make_number

    def url(self, name: str, route: str) -> str:
        return reverse(name, kwargs={arg: self.argument(arg) for arg in arguments(route)})

    def argument(self, name: str):
        builders = {
            "company_id": lambda: self.company.pk,
            "person_id": lambda: self.person.pk,
            "user_id": lambda: self.personas.staff.pk,
            "membership_id": lambda: self.staff_membership.pk,
            "network_id": lambda: self.network.pk,
            "invitation_id": lambda: self.invitation[0].pk,
            "token": lambda: self.invitation[1],
            "submission_id": lambda: self.submission.pk,
            "document_id": lambda: self.submission.documents.order_by("pk")[0].pk,
            "run_id": lambda: self.run.pk,
            "row_id": lambda: self.run.rows.get().pk,
            "batch_id": lambda: self.disposal_batch.pk,
            "item_id": lambda: self.disposal_batch.items.get(person=self.leaver).pk,
        }
        if name not in builders:
            raise LookupError(f"no object for the route argument {name!r}: add one to World")
        return builders[name]()

    @cached_property
    def person(self) -> Person:
        """An employee with what an invitation needs (birth date, e-mail)."""
        return make_person(
            self.company, birth_date=date(1990, 4, 1), email="taro@example.test", employee_code="E1"
        )

    @cached_property
    def stored(self) -> str:
        """A number stored for ``person``, notified for withholding."""
        number = self.make_number()
        store_number(
            acting_user=self.personas.handler,
            person=self.person,
            number=number,
            purposes=["withholding"],
            verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
        )
        return number

    @cached_property
    def run(self) -> DocumentRun:
        """A prepared 源泉徴収票 run of ``person`` (number stored), one row matched by code."""
        self.stored
        data = csv_bytes([unified_row(RUN_YEAR, Staff(self.person))])
        return runs.prepare_run(
            acting_user=self.personas.handler,
            company=self.company,
            kind="withholding",
            year=RUN_YEAR,
            data=data,
        )

    @cached_property
    def produced(self) -> DocumentRun:
        """``run``, produced by the handler (the queue run at once)."""
        runs.start_production(acting_user=self.personas.handler, run=self.run)
        tasks.run_pending()
        self.run.refresh_from_db()
        return self.run

    @cached_property
    def leaver(self) -> Person:
        """An employee who left in 2015 with a number: due for disposal."""
        person = make_person(
            self.company,
            family_name="退職",
            hire_date=date(2010, 4, 1),
            leave_date=date(2015, 3, 31),
        )
        store_number(
            acting_user=self.personas.handler,
            person=person,
            number=self.make_number(),
            purposes=["withholding"],
            verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
        )
        return person

    @cached_property
    def disposal_batch(self) -> DisposalBatch:
        """The leaver's disposal, proposed by the handler and awaiting approval."""
        return propose(
            acting_user=self.personas.handler, company=self.company, people=[self.leaver]
        )

    def dispose(self) -> None:
        """The batch approved by the responsible manager: disposed of, with its certificate."""
        approve(acting_user=self.personas.responsible_manager, batch=self.disposal_batch)

    @cached_property
    def staff_membership(self) -> Membership:
        return Membership.objects.get(user=self.personas.staff, company=self.company)

    @cached_property
    def network(self) -> AllowedNetwork:
        return add_network(
            acting_user=self.personas.company_admin,
            company=self.company,
            cidr=OWN_NETWORK,
            client_address="127.0.0.1",
        )

    @cached_property
    def invitation(self) -> tuple[Invitation, str]:
        """An open invitation of ``person`` by e-mail, and its link's token."""
        return invite_by_email(self.personas.staff, self.person)

    @cached_property
    def submission(self) -> Submission:
        """Another employee's submission awaiting review: a number and both sides of the card,
        handed in through the vault core directly (the pages are tested elsewhere)."""
        person = make_person(
            self.company,
            family_name="佐藤",
            given_name="花子",
            birth_date=date(1985, 12, 24),
            email="hanako@example.test",
        )
        invitation, _ = invite_by_email(self.personas.staff, person)
        drafts.enter_number(invitation=invitation, number=self.make_number())
        for color in ((200, 180, 160), (10, 20, 30)):
            drafts.add_document(
                invitation=invitation,
                kind="my_number_card",
                content=jpeg((32, 20), color),
                content_type="image/jpeg",
            )
        return registration.submit(
            invitation=invitation, notice_acknowledged_at=timezone.now(), attested=False
        )


def snapshot() -> dict[str, object]:
    """What a refused request must not change: rows of the key tables (and the fields a
    settings page could change), active roles, open invitations, e-mail sent."""
    return {
        "audit": AuditEntry.objects.count(),
        "users": User.objects.count(),
        "roles": Membership.objects.filter(revoked_at__isnull=True).count(),
        "companies": list(Company.objects.order_by("pk").values()),
        "purposes": CompanyPurpose.objects.count(),
        "networks": AllowedNetwork.objects.count(),
        "people": list(Person.objects.order_by("pk").values()),
        "numbers": list(NumberRecord.objects.order_by("pk").values_list("pk", "status")),
        "invitations": list(
            Invitation.objects.order_by("pk").values_list("pk", "used_at", "revoked_at")
        ),
        "submissions": list(Submission.objects.order_by("pk").values_list("pk", "status")),
        "collection_settings": list(CollectionSettings.objects.order_by("pk").values()),
        "mail": len(mail.outbox),
        "runs": list(DocumentRun.objects.order_by("pk").values_list("pk", "status")),
    }
