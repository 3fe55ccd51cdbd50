#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: prove a release's settings compile and pass Django's deployment checks."""

from __future__ import annotations

DOCUMENTATION = r"""
module: django_check
version_added: 0.1.0
short_description: Prove a release's settings load, pass Django's deployment checks, and find its entry point
description:
  - Compiles the generated settings module, then, in one Python process of the release
    (through its runner), sets Django up, runs the system checks (with the deployment
    checks), reads the settings the server needs and imports the application the server
    will load, so a release whose settings or entry point cannot load fails here, before
    it goes live, with the exception's last lines in the message.
  - The entry point is read from the project's settings (C(WSGI_APPLICATION), or
    C(ASGI_APPLICATION) for O(interface=asgi), else the C(asgi) module beside the WSGI
    one), unless O(server_module) names it.
  - Fails when an issue is at or above O(fail_level), or is a warning whose id starts with
    one of O(fatal_prefixes) (Django's own deployment warnings, C(security.W*)). Other
    issues are returned and shown as warnings.
  - Changes nothing; safe in check mode.
author: djangoprod.stack contributors (@djangoprod)
options:
  settings_file:
    description: The settings module's file, compiled first so a syntax error is named by line.
    type: path
  deploy:
    description: Include the deployment checks (C(--deploy)).
    type: bool
    default: true
  fail_level:
    description: The level at which any issue fails the check.
    type: str
    choices: [CRITICAL, ERROR, WARNING, INFO, DEBUG]
    default: ERROR
  fatal_prefixes:
    description: Issues below O(fail_level) whose id starts with one of these fail all the same.
    type: list
    elements: str
    default: [security.]
  interface:
    description: What the server speaks to the application.
    type: str
    choices: [wsgi, asgi]
    default: wsgi
  server_module:
    description:
      - The application as the server takes it (C(package.module:callable)), instead of the
        one the settings name. It is imported all the same.
    type: str
    default: ""
extends_documentation_fragment:
  - djangoprod.stack.release_runner
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Check the new release before it goes live
  djangoprod.stack.django_check:
    runner: [/usr/local/libexec/djangoprod/shop-run, /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d]
    settings_file: /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d/djangoprod_settings.py
  register: checked

- name: Serve what the settings name
  ansible.builtin.debug:
    msg: "{{ checked.server_module }}"   # config.wsgi:application
"""

RETURN = r"""
issues:
  description: What Django reported, at any level, less the silenced checks.
  returned: when the checks ran
  type: list
  elements: dict
  contains:
    id:
      description: The check's id, for example C(security.W004).
      type: str
    level:
      description: One of C(CRITICAL), C(ERROR), C(WARNING), C(INFO), C(DEBUG).
      type: str
    object:
      description: What the issue is about (C(?) for the settings).
      type: str
    message:
      description: Django's message.
      type: str
    hint:
      description: Django's hint, if any.
      type: str
ids:
  description: The ids of RV(issues).
  returned: when the checks ran
  type: list
  elements: str
server_module:
  description: The application the server loads, as C(package.module:callable).
  returned: success
  type: str
  sample: config.wsgi:application
static_root:
  description: The C(STATIC_ROOT) the settings give.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import (
    MARKER,
    parse_marked_json,
    tail,
)

_ORDER = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# One process: settings, checks, entry point. Anything it raises goes to stderr as a
# traceback, whose last line says what is wrong.
SNIPPET = (
    """
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
print("""
    + repr(MARKER)
    + """ + json.dumps({"issues": issues, "server_module": server,
                      "static_root": str(settings.STATIC_ROOT or "")}))
"""
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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "runner": {"type": "list", "elements": "str", "required": True},
            "settings_file": {"type": "path"},
            "deploy": {"type": "bool", "default": True},
            "fail_level": {"type": "str", "default": "ERROR", "choices": _ORDER[::-1]},
            "fatal_prefixes": {"type": "list", "elements": "str", "default": ["security."]},
            "interface": {"type": "str", "default": "wsgi", "choices": ["wsgi", "asgi"]},
            "server_module": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["settings_file"]:
        error = compile_error(params["settings_file"])
        if error:
            module.fail_json(msg=f"The settings do not compile: {error}")

    command = [
        *params["runner"],
        "-c",
        SNIPPET,
        "1" if params["deploy"] else "0",
        params["interface"],
        params["server_module"],
    ]
    rc, out, err = module.run_command(command)
    try:
        result = parse_marked_json(out) if rc == 0 else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        module.fail_json(
            msg=f"The release's settings or application do not load (exit {rc}): {tail(err or out)}",
            rc=rc,
            stdout=out,
            stderr=err,
        )
    issues = result["issues"]
    ids = [issue["id"] for issue in issues]
    bad = failing(issues, params["fail_level"], params["fatal_prefixes"])
    if bad:
        listed = "; ".join(describe(issue) for issue in bad)
        module.fail_json(
            msg=f"check --deploy reported {len(bad)} issue(s) that stop the release: {listed}",
            issues=issues,
            ids=ids,
        )
    for issue in issues:
        module.warn(f"check --deploy: {describe(issue)}")
    module.exit_json(
        changed=False,
        issues=issues,
        ids=ids,
        server_module=result["server_module"],
        static_root=result["static_root"],
    )


if __name__ == "__main__":
    main()
