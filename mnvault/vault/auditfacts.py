"""Every stored number has its audit entry (docs/threat-model.md; registered with
``audit.facts`` by ``VaultConfig.ready``).

A number stored one by one (``store_number``, a collection approval) has a ``number.store``
entry naming its person. Bulk stores (the CSV import, demo data) write one entry for the whole
batch, with the count of numbers in ``detail["numbers"]``: in a company, the numbers without an
entry of their own must not be more than its bulk entries account for.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext as _

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.vault.models import NumberRecord

BULK_ACTIONS = (Action.PEOPLE_IMPORT, Action.DEMO_CREATE)


def numbers_accounted_for() -> str | None:
    logged = AuditEntry.objects.filter(
        action=Action.NUMBER_STORE,
        outcome=Outcome.OK,
        company_id=OuterRef("company_id"),
        person_id=OuterRef("person_id"),
    )
    alone = NumberRecord.objects.annotate(logged=Exists(logged)).filter(logged=False)
    per_company = dict(
        alone.order_by()
        .values_list("company_id")
        .annotate(n=Count("pk"))
        .values_list("company_id", "n")
    )
    if not per_company:
        return None
    in_bulk: Counter[int] = Counter()
    bulk = AuditEntry.objects.filter(
        action__in=BULK_ACTIONS, outcome=Outcome.OK, company_id__in=list(per_company)
    )
    for company_id, detail in bulk.values_list("company_id", "detail"):
        count = detail.get("numbers") if isinstance(detail, dict) else None
        if type(count) is int and company_id is not None:
            in_bulk[company_id] += count
    for company_id, count in sorted(per_company.items()):
        if count <= in_bulk[company_id]:
            continue
        if in_bulk[company_id] == 0:
            person_id = (
                alone.filter(company_id=company_id)
                .order_by("person_id")
                .values_list("person_id", flat=True)[0]
            )
            return _(
                "the number stored for person %(person)d of company %(company)d has no audit "
                "entry: its entry was removed, or it was stored past mnvault"
            ) % {"person": person_id, "company": company_id}
        return _(
            "company %(company)d holds %(count)d numbers without an audit entry of their own, "
            "but its imports account for only %(bulk)d: entries were removed"
        ) % {"company": company_id, "count": count, "bulk": in_bulk[company_id]}
    return None
