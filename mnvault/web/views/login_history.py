"""A user's login history as those who review access see it (domain R3, R7, R19): only users
who hold or held a role in this company, so no other tenant's accounts can be looked into."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from mnvault.accounts.models import LoginEvent, Membership, User
from mnvault.domain.roles import Capability as C
from mnvault.web.company import CompanyRequest, company_page

SHOWN = 200


@company_page(capability=C.USERS_VIEW)
def login_history(request: CompanyRequest, user_id: int) -> HttpResponse:
    if not Membership.objects.filter(company=request.company, user_id=user_id).exists():
        raise Http404
    person = User.objects.get(pk=user_id)
    events = LoginEvent.objects.filter(user=person)[:SHOWN]
    return render(request, "web/login_history.html", {"account": person, "events": events})
