from __future__ import annotations

import pytest

from mnvault.conftest import ALL_DATABASES


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
