"""The health check that load balancers and the CLI poll."""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when both databases answer; 503 otherwise, with no detail an outsider could use."""
    try:
        for alias in ("default", "keys"):
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
