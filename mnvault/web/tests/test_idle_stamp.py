"""A page view that changes nothing writes nothing: the idle-timeout stamp in the session is
renewed at most once a minute (issue 10, item 18), and the idle timeout still signs out."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mnvault.accounts.models import LoginEvent
from mnvault.conftest import ALL_DATABASES
from mnvault.web import middleware
from mnvault.web.middleware import LAST_SEEN, LAST_SEEN_EVERY

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def views(client, url: str) -> list[str]:
    """The SQL of one GET, on both databases."""
    with ExitStack() as stack:
        captured = [
            stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in ALL_DATABASES
        ]
        assert client.get(url).status_code == 200
    return [q["sql"] for c in captured for q in c.captured_queries]


def writes(queries: list[str]) -> list[str]:
    return [q for q in queries if WRITE.match(q)]


def clock(monkeypatch, start: float) -> list[float]:
    """A settable clock for the middleware: ``now[0]`` is the time it sees."""
    now = [start]
    monkeypatch.setattr(middleware.time, "time", lambda: now[0])
    return now


def test_a_page_view_seconds_after_the_last_writes_nothing(signed_in, personas, monkeypatch):
    client = signed_in(personas.staff)
    url = reverse("web:people", args=[personas.company.pk])
    now = clock(monkeypatch, time.time())
    views(client, url)  # the first view stamps the session
    now[0] += 5
    queries = views(client, url)
    assert queries, "the page ran no query at all: the capture is broken"
    assert writes(queries) == []
    assert not [q for q in queries if "django_session" in q and WRITE.match(q)]


def test_the_stamp_is_renewed_after_a_minute(signed_in, personas, monkeypatch):
    client = signed_in(personas.staff)
    url = reverse("web:people", args=[personas.company.pk])
    now = clock(monkeypatch, time.time())
    views(client, url)
    first = client.session[LAST_SEEN]
    now[0] += LAST_SEEN_EVERY + 1
    queries = views(client, url)
    assert any("django_session" in q for q in writes(queries))
    assert client.session[LAST_SEEN] == pytest.approx(first + LAST_SEEN_EVERY + 1)


def test_the_idle_timeout_still_signs_out_after_the_limit(
    signed_in, personas, monkeypatch, settings
):
    """Views every 30 seconds keep the session; then silence for the limit signs it out."""
    client = signed_in(personas.staff)
    url = reverse("web:people", args=[personas.company.pk])
    now = clock(monkeypatch, time.time())
    limit = settings.MNVAULT_IDLE_MINUTES * 60
    for _ in range(int(limit // 30) + 4):  # longer in all than the limit itself
        views(client, url)
        now[0] += 30
    now[0] += limit - 30 + 1
    response = client.get(url)
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert LoginEvent.objects.filter(user=personas.staff).latest("pk").outcome == "timeout"
