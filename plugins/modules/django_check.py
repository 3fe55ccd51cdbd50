#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: prove a release's settings compile and pass Django's deployment checks."""

from __future__ import annotations

DOCUMENTATION = r"""
module: django_check
version_added: 0.1.0
short_description: Prove a release's settings compile and pass C(check --deploy)
description:
  - Compiles the generated settings module, then runs
    C(manage.py check --deploy --fail-level <fail_level>) through the release's runner.
  - Returns every issue Django reported as structured data, and fails listing them when
    any is at or above O(fail_level), or when the settings do not compile or import.
  - Changes nothing; safe in check mode.
author: djangoprod.stack contributors (@djangoprod)
options:
  runner:
    description:
      - The command that runs the release's Python in its project directory, as the
        application's user, with its settings module and credentials; C(manage.py check ...)
        is appended.
    type: list
    elements: str
    required: true
  settings_file:
    description: The settings module's file, compiled first so a syntax error is named by line.
    type: path
  deploy:
    description: Include the deployment checks (C(--deploy)).
    type: bool
    default: true
  fail_level:
    description: The level at which an issue fails the check.
    type: str
    choices: [CRITICAL, ERROR, WARNING, INFO, DEBUG]
    default: WARNING
attributes:
  check_mode:
    support: full
    description: The checks run in check mode too; nothing is changed either way.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Check the new release before it goes live
  djangoprod.stack.django_check:
    runner: [/usr/local/libexec/djangoprod/shop-run, /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d]
    settings_file: /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d/djangoprod_settings.py
"""

RETURN = r"""
issues:
  description: What Django reported, at any level.
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
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import parse_check_output

_ORDER = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def compile_error(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            compile(handle.read(), path, "exec")
    except SyntaxError as error:
        return f"{path} line {error.lineno}: {error.msg}"
    except OSError as error:
        return f"{path}: {error.strerror}"
    return None


def failing(issues: list[dict], fail_level: str) -> list[dict]:
    threshold = _ORDER.index(fail_level)
    return [issue for issue in issues if _ORDER.index(issue["level"]) >= threshold]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "runner": {"type": "list", "elements": "str", "required": True},
            "settings_file": {"type": "path"},
            "deploy": {"type": "bool", "default": True},
            "fail_level": {"type": "str", "default": "WARNING", "choices": _ORDER[::-1]},
        },
        supports_check_mode=True,
    )
    if module.params["settings_file"]:
        error = compile_error(module.params["settings_file"])
        if error:
            module.fail_json(msg=f"The settings do not compile: {error}")

    command = [*module.params["runner"], "manage.py", "check", "--fail-level", module.params["fail_level"]]
    if module.params["deploy"]:
        command.append("--deploy")
    rc, out, err = module.run_command(command)
    issues = parse_check_output(f"{out}\n{err}")
    ids = [issue["id"] for issue in issues]
    bad = failing(issues, module.params["fail_level"])
    if rc != 0 or bad:
        if bad:
            listed = "; ".join(f"{i['id']} ({i['object']}): {i['message']}" for i in bad)
            msg = f"manage.py check --deploy reported {len(bad)} issue(s): {listed}"
        else:
            msg = f"manage.py check failed (exit {rc}): {(err or out).strip()[-2000:]}"
        module.fail_json(msg=msg, issues=issues, ids=ids, rc=rc, stdout=out, stderr=err)
    module.exit_json(changed=False, issues=issues, ids=ids)


if __name__ == "__main__":
    main()
