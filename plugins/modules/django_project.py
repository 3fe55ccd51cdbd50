#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: the settings module a Django project's own entry points name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: django_project
version_added: 0.2.0
short_description: Find the settings module a Django project's own entry points name
description:
  - Reads the project's C(wsgi.py), C(asgi.py) and C(manage.py) (at most three directories
    deep, virtualenvs and dependencies left out) for
    C(os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")), without running them.
  - The WSGI or ASGI module's value wins over C(manage.py)'s, which often names the
    development settings (C(config.settings.local) in projects made from templates).
  - Changes nothing; safe in check mode.
author: djangoprod.stack contributors (@djangoprod)
options:
  path:
    description: The project's top directory (or where C(manage.py) sits).
    type: path
    required: true
extends_documentation_fragment:
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Find the project's settings
  djangoprod.stack.django_project:
    path: ../shop
  delegate_to: localhost
  register: project
"""

RETURN = r"""
settings_module:
  description: The settings module, for example C(config.settings.production).
  returned: success
  type: str
found_in:
  description: The file that named it, relative to O(path).
  returned: success
  type: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

_SETDEFAULT = re.compile(
    r"""os\.environ\.setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]\s*\)"""
)
_SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", ".tox", "static", "media"}
_RANK = {"wsgi.py": 0, "asgi.py": 1, "manage.py": 2}


def find_settings(top: str, depth: int = 3) -> tuple[str, str] | None:
    """(settings module, file relative to top) named by the project's entry points."""
    found: list[tuple[int, int, str, str]] = []
    for root, dirs, files in os.walk(top):
        relative_root = os.path.relpath(root, top)
        level = 0 if relative_root == "." else relative_root.count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and level < depth)
        for name in files:
            if name not in _RANK:
                continue
            path = os.path.join(root, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    match = _SETDEFAULT.search(handle.read(65536))
            except OSError:
                continue
            if match:
                found.append((_RANK[name], level, os.path.relpath(path, top), match.group(1)))
    if not found:
        return None
    _rank, _level, where, module = min(found)
    return module, where


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path", "required": True}}, supports_check_mode=True
    )
    top = module.params["path"]
    if not os.path.isdir(top):
        module.fail_json(
            msg=f"{top} is not a directory: set djangoprod_source_path to the project's directory"
        )
    result = find_settings(top)
    if result is None:
        module.fail_json(
            msg=(
                f"No wsgi.py, asgi.py or manage.py under {top} names DJANGO_SETTINGS_MODULE: set "
                "app_django_settings to the project's settings module (such as shop.settings or "
                "config.settings.production)"
            )
        )
    module.exit_json(changed=False, settings_module=result[0], found_in=result[1])


if __name__ == "__main__":
    main()
