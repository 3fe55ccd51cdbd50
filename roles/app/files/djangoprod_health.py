# Written by the djangoprod.stack app role next to the production settings.
"""The deploy's health check, for any project: no URL or view of the project needed.

The production settings put HealthCheckMiddleware first, so a GET of PATH is answered
before anything else of the project runs (no redirect, no host check, no session): 200
with the release that answers and "ok" when the default database answers, else 503.
nginx lets only this host (and the addresses it is told) reach PATH.
"""

import json
import os
from pathlib import Path

from django.db import connections
from django.http import HttpResponse

PATH = "/_djangoprod/health"
# Request metrics (app_request_metrics): the counters of every gunicorn worker of this
# release, summed (prometheus_client's multiprocess mode). nginx serves this path only
# on the address Prometheus scrapes, to the monitoring host.
METRICS_PATH = "/_djangoprod/metrics"


def _release() -> str:
    """The release this code belongs to: the directory under releases/ it was loaded from."""
    parts = Path(__file__).resolve().parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "releases":
            return parts[index + 1]
    return ""


RELEASE = _release()


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == METRICS_PATH and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return _metrics()
        if request.path != PATH:
            return self.get_response(request)
        status, database = 200, "ok"
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:  # any failure: the answer says which
            status, database = 503, f"{type(error).__name__}: {error}"[:200]
        return HttpResponse(
            json.dumps({"release": RELEASE, "database": database}),
            status=status,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )


def _metrics() -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return HttpResponse(
        generate_latest(registry), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )
