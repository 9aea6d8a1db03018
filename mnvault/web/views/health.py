"""The health check that load balancers and the CLI poll."""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mnvault.scheduler import heartbeat
from mnvault.vault.services import key_file_outdated


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when both databases answer, the audit log's checkpoints are being signed and the key
    file holds the key store's active key; 503 otherwise, with a one-line reason and no detail
    an outsider could use. Checkpoints that fail or fall behind make the server degraded
    rather than let the log's proof stop silently (docs/architecture.md, "Audit log"); a key
    file older than the key store (rotated on another host) makes every reveal here fail, so
    the load balancer should hear it (docs/deploy.md, "Several app servers")."""
    try:
        for alias in ("default", "keys"):
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        checkpoints = heartbeat.health(heartbeat.CHECKPOINTS)
        outdated = key_file_outdated()
    except Exception:
        return HttpResponse("unavailable\n", status=503, content_type="text/plain")
    if outdated:
        return HttpResponse("degraded: key file outdated\n", status=503, content_type="text/plain")
    if not checkpoints.ok:
        return HttpResponse(
            f"degraded: audit checkpoints {checkpoints.problem}\n",
            status=503,
            content_type="text/plain",
        )
    return HttpResponse("ok\n", content_type="text/plain")
