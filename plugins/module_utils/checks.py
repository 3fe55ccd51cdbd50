# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A release's settings, system checks and entry point, read in one Django process
(django_check, app_build)."""

from __future__ import annotations

from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import MARKER

_ORDER = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# One process: settings, checks, entry point. Anything it raises goes to stderr as a
# traceback, whose last line says what is wrong. Arguments: deploy (1/0), interface,
# the server module wanted (or empty).
_CHECK = """
import importlib, json, sys
import django
from django.conf import settings
django.setup()
from django.core import checks
deploy, interface, wanted = sys.argv[1] == "1", sys.argv[2], sys.argv[3]
names = {checks.DEBUG: "DEBUG", checks.INFO: "INFO", checks.WARNING: "WARNING",
         checks.ERROR: "ERROR", checks.CRITICAL: "CRITICAL"}
issues = []
for message in checks.run_checks(include_deployment_checks=deploy):
    if message.is_silenced():
        continue
    level = max((lvl for lvl in names if lvl <= message.level), default=checks.DEBUG)
    issues.append({"id": message.id or "", "level": names[level],
                   "object": "?" if message.obj is None else str(message.obj),
                   "message": str(message.msg), "hint": message.hint and str(message.hint)})
def dotted(path):
    module, _, attribute = path.rpartition(".")
    return module + ":" + attribute
if wanted:
    server = wanted
elif interface == "asgi":
    server = getattr(settings, "ASGI_APPLICATION", None)
    server = dotted(server) if server else None
    if not server and getattr(settings, "WSGI_APPLICATION", None):
        module, _, attribute = settings.WSGI_APPLICATION.rpartition(".")
        server = module.rpartition(".")[0] + ".asgi:application" if module.endswith(".wsgi") else None
    if not server:
        raise SystemExit("ASGI_APPLICATION is not set and no asgi module sits beside WSGI_APPLICATION: "
                         "set app_server_module (package.asgi:application)")
else:
    if not getattr(settings, "WSGI_APPLICATION", None):
        raise SystemExit("WSGI_APPLICATION is not set in the settings: set app_server_module "
                         "(package.wsgi:application)")
    server = dotted(settings.WSGI_APPLICATION)
module, _, attribute = server.partition(":")
application = importlib.import_module(module)
for part in (attribute or "application").split("."):
    application = getattr(application, part)
result = {"issues": issues, "server_module": server, "static_root": str(settings.STATIC_ROOT or "")}
"""

SNIPPET = _CHECK + "print(" + repr(MARKER) + " + json.dumps(result))\n"

# The build's one Django process: the checks and the entry point as above; then, unless
# an issue stops the release (argument 4: the fail level's rank and the fatal prefixes,
# as JSON), the migrations the database lacks and collectstatic (argument 5: 1/0).
BUILD_SNIPPET = (
    _CHECK
    + """
rank = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3, "CRITICAL": 4}
gate = json.loads(sys.argv[4])
stop = [i for i in issues if rank[i["level"]] >= gate["rank"]
        or (i["level"] == "WARNING" and i["id"].startswith(tuple(gate["prefixes"])))]
if not stop:
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    result["pending"] = ["%s.%s" % (m.app_label, m.name) for m, backwards in plan if not backwards]
    if sys.argv[5] == "1":
        from django.core.management import call_command
        call_command("collectstatic", interactive=False, verbosity=0)
"""
    + "print("
    + repr(MARKER)
    + " + json.dumps(result))\n"
)


def compile_error(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            compile(handle.read(), path, "exec")
    except SyntaxError as error:
        return f"{path} line {error.lineno}: {error.msg}"
    except OSError as error:
        return f"{path}: {error.strerror}"
    return None


def failing(issues: list[dict], fail_level: str, fatal_prefixes: list[str] | None = None) -> list[dict]:
    """The issues that stop a release: at or above the fail level, or fatal by their id."""
    threshold = _ORDER.index(fail_level)
    prefixes = tuple(fatal_prefixes or ())
    return [
        issue
        for issue in issues
        if _ORDER.index(issue["level"]) >= threshold
        or (prefixes and issue["level"] == "WARNING" and issue["id"].startswith(prefixes))
    ]


def describe(issue: dict) -> str:
    return f"{issue['id']} ({issue['object']}): {issue['message']}"
