# Written by the djangoprod.stack app role: gunicorn's configuration file (--config).
"""gunicorn's configuration for request metrics (app_request_metrics), read by the master
at start and at each reload.

Each release counts in a directory of its own under DJANGOPROD_METRICS_DIR (the unit's
runtime directory, emptied whenever gunicorn stops), named after the release that
DJANGOPROD_CURRENT (the app's `current` link) points to: prometheus_client's
multiprocess mode, which the workers inherit from the master's environment. A worker
that exits is marked dead there, so its live gauges leave the totals.
"""

import os
from pathlib import Path

if os.environ.get("DJANGOPROD_METRICS_DIR"):
    _release = Path(os.path.realpath(os.environ.get("DJANGOPROD_CURRENT", "."))).name
    _directory = Path(os.environ["DJANGOPROD_METRICS_DIR"]) / _release
    _directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_directory)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
