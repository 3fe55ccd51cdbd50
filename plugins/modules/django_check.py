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
extends_documentation_fragment:
  - djangoprod.stack.release_runner
  - djangoprod.stack.release_checks
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
from ansible_collections.djangoprod.stack.plugins.module_utils.checks import (
    _ORDER,
    SNIPPET,
    compile_error,
    describe,
    failing,
)
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import parse_marked_json, tail


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
