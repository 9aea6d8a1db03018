"""The handling ledger (特定個人情報ファイルの取扱状況, domain R4), generated from the data rather
than kept by hand, so it cannot drift from what is stored: one row per kind of number file with
its counts, purposes, deletion status and who can reach it; the responsible managers; where the
data is kept (R10). It holds counts and names of staff, never a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mnvault.accounts.models import Membership, Role
from mnvault.companies.models import Company, CompanyPurpose
from mnvault.companies.purposes import Purpose
from mnvault.domain.roles import Capability as C
from mnvault.domain.roles import roles_with
from mnvault.people.models import PersonKind, PersonPurpose
from mnvault.retention.services import due_list
from mnvault.vault.models import NumberRecord, NumberStatus
from mnvault.web.company import CompanyRequest, company_page

JST = ZoneInfo("Asia/Tokyo")
FILE_NAMES: dict[str, Promise] = {
    PersonKind.EMPLOYEE: _("Individual numbers of employees"),
    PersonKind.DEPENDENT: _("Individual numbers of dependents"),
    PersonKind.PAYEE: _("Individual numbers of payees"),
}
COUNTRIES = {"JP": _("Japan")}
ACCESS_ROLES = roles_with(C.NUMBER_REVEAL)


@dataclass(frozen=True)
class Holder:
    """Someone who can reach numbers: a handler or responsible manager, with the person kinds
    of their scope (empty: every kind) and since when."""

    username: str
    full_name: str
    role: str
    role_label: str
    kinds: tuple[str, ...]
    since: datetime

    def covers(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def scope(self) -> str:
        if not self.kinds:
            return str(_("All kinds"))
        return ", ".join(str(PersonKind(k).label) for k in self.kinds if k in PersonKind.values)


@dataclass
class NumberFile:
    kind: str
    name: str
    kind_label: str
    active: int = 0
    pending: int = 0
    disposed: int = 0
    last_disposal: datetime | None = None
    due: int = 0  # numbers whose disposal date has passed, not yet in a batch
    purposes: list[str] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)


@dataclass
class Ledger:
    files: list[NumberFile]
    purposes: list[tuple[str, date]]  # (label, notified since)
    managers: list[Holder]
    holders: list[Holder]
    country: str
    last_disposal: datetime | None
    as_of: datetime


def _holders(company: Company) -> list[Holder]:
    memberships = (
        Membership.objects.filter(
            company=company, role__in=ACCESS_ROLES, revoked_at__isnull=True, user__is_active=True
        )
        .select_related("user")
        .order_by("role", "user__username")
    )
    return [
        Holder(
            username=m.user.get_username(),
            full_name=m.user.get_full_name(),
            role=m.role,
            role_label=m.get_role_display(),
            kinds=tuple(m.person_kinds or ()),
            since=timezone.localtime(m.granted_at, JST),
        )
        for m in memberships
    ]


def _files(company: Company, holders: list[Holder]) -> list[NumberFile]:
    files = {
        kind: NumberFile(kind=kind, name=str(FILE_NAMES[kind]), kind_label=str(label))
        for kind, label in PersonKind.choices
    }
    counts = (
        NumberRecord.objects.filter(company=company)
        .values_list("person__kind", "status")
        .annotate(n=Count("pk"), last=Max("updated_at"))
    )
    for kind, status, n, last in counts:
        if kind not in files:
            continue
        if status == NumberStatus.ACTIVE:
            files[kind].active = n
        elif status == NumberStatus.PENDING:
            files[kind].pending = n
        elif status == NumberStatus.DISPOSED:
            files[kind].disposed = n
            files[kind].last_disposal = timezone.localtime(last, JST)
    notified = (
        PersonPurpose.objects.filter(person__company=company)
        .values_list("person__kind", "purpose")
        .distinct()
    )
    by_kind: dict[str, set[str]] = {}
    for kind, purpose in notified:
        by_kind.setdefault(kind, set()).add(purpose)
    for kind, file in files.items():
        wanted = by_kind.get(kind, set())
        file.purposes = [str(label) for code, label in Purpose.choices if code in wanted]
        file.holders = [h for h in holders if h.covers(kind)]
    # The queue's own computation (a few queries for the company), so the two cannot differ.
    for due in due_list(company):
        if due.person.kind in files:
            files[due.person.kind].due += 1
    return list(files.values())


def build_ledger(company: Company) -> Ledger:
    """The ledger of ``company`` as the data stands now."""
    holders = _holders(company)
    files = _files(company, holders)
    disposals = [f.last_disposal for f in files if f.last_disposal]
    since = dict(CompanyPurpose.objects.filter(company=company).values_list("purpose", "since"))
    purposes = [(str(label), since[code]) for code, label in Purpose.choices if code in since]
    return Ledger(
        files=files,
        purposes=purposes,
        managers=[h for h in holders if h.role == Role.RESPONSIBLE_MANAGER],
        holders=holders,
        country=str(COUNTRIES.get(company.data_country, company.data_country)),
        last_disposal=max(disposals) if disposals else None,
        as_of=timezone.localtime(timezone.now(), JST),
    )


@company_page(capability=C.LEDGER_READ)
def ledger(request: CompanyRequest) -> HttpResponse:
    return render(request, "web/ledger.html", {"ledger": build_ledger(request.company)})
