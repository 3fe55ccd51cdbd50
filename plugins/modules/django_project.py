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
  - When the module found is not the production one and a production module sits beside
    it (C(production.py) or C(prod.py) in the same package, as in C(config/django/base.py)
    next to C(config/django/production.py)), it warns and names the variable to set
    (the entry points of many projects name their base or development settings).
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
production_settings:
  description:
    - Production settings modules beside the one found, which the warning names (empty
      when the one found is one).
  returned: success
  type: list
  elements: str
  sample: [config.django.production]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

_SETDEFAULT = re.compile(
    r"""os\.environ\.setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]\s*\)"""
)
_SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", ".tox", "static", "media"}
_RANK = {"wsgi.py": 0, "asgi.py": 1, "manage.py": 2}
# The names projects give the settings they run on servers.
_PRODUCTION = ("production", "prod", "settings_production", "production_settings", "settings_prod")


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


def production_beside(top: str, module: str, found_in: str) -> list[str]:
    """Production settings modules in the package of `module` (none when it is one)."""
    parts = module.split(".")
    if parts[-1] in _PRODUCTION:
        return []
    # Where imports start: the entry point's directory or one above it, up to the top.
    roots, here = [], os.path.dirname(os.path.join(top, found_in))
    while True:
        roots.append(here)
        if os.path.samefile(here, top) or len(roots) > 4:
            break
        here = os.path.dirname(here)
    for root in roots:
        base = os.path.join(root, *parts)
        if os.path.isfile(os.path.join(base, "__init__.py")):
            package, prefix = base, parts
        elif os.path.isfile(base + ".py"):
            package, prefix = os.path.dirname(base), parts[:-1]
        else:
            continue
        return [
            ".".join([*prefix, name])
            for name in _PRODUCTION
            if os.path.isfile(os.path.join(package, name + ".py"))
        ]
    return []


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
    settings, found_in = result
    production = production_beside(top, settings, found_in)
    if production:
        module.warn(
            f"The project's {found_in} names {settings}, so the stack runs on those settings; "
            f"{production[0]} is beside them. If that is the one for servers, set "
            f"app_django_settings: {production[0]} (or app_django_settings: {settings} to keep "
            "these and not be told again)."
        )
    module.exit_json(
        changed=False, settings_module=settings, found_in=found_in, production_settings=production
    )


if __name__ == "__main__":
    main()
