#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: how a project declares its dependencies and its Python, read on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_dependencies
version_added: 0.2.0
short_description: How a project declares its dependencies and the Python it needs
description:
  - Finds the file that says what a release installs, in this order, unless O(file) names
    it; C(uv.lock) (installed exactly, through C(uv export --frozen)), C(poetry.lock) (its
    main group, pinned), C(requirements.txt) and the other C(requirements*.txt) files of
    production, then C(pyproject.toml) alone (its C([project] dependencies)).
  - Returns a checksum of everything that decides what gets installed, so a virtualenv can
    be reused while it stays the same.
  - Reads the Python the project asks for (C(requires-python) in C(pyproject.toml),
    C(.python-version)) and fails, naming both versions, when the interpreter virtualenvs
    are made from (O(python)) does not satisfy it.
  - Changes nothing; safe in check mode.
author: djangoprod.stack contributors (@djangoprod)
options:
  path:
    description: The project's top directory (where C(pyproject.toml) and the lockfiles sit).
    type: path
    required: true
  file:
    description: The dependencies file relative to O(path), instead of looking for one.
    type: str
    default: ""
  python:
    description: The interpreter the release's virtualenv is made from.
    type: path
    default: /usr/bin/python3
  check_python:
    description: Fail when O(python) does not satisfy the project's Python.
    type: bool
    default: true
extends_documentation_fragment:
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Read how the release declares its dependencies
  djangoprod.stack.app_dependencies:
    path: /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d
  register: deps
"""

RETURN = r"""
kind:
  description: V(uv), V(poetry), V(requirements) or V(pyproject).
  returned: success
  type: str
file:
  description: The file that was read, relative to O(path).
  returned: success
  type: str
checksum:
  description: SHA-256 over the files that decide what is installed.
  returned: success
  type: str
requirements:
  description: Requirement lines to install, for V(poetry) and V(pyproject) (empty for the others).
  returned: success
  type: list
  elements: str
python:
  description: The version of O(python).
  returned: success
  type: str
interpreter:
  description: O(python), the interpreter that was read.
  returned: success
  type: str
requires_python:
  description: What the project asks for (C(requires-python), then C(.python-version)), or empty.
  returned: success
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.dependencies import (
    declared,
    python_refusal,
    python_wanted_from,
    satisfies,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "file": {"type": "str", "default": ""},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "check_python": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    path, interpreter = module.params["path"], module.params["python"]
    rc, out, err = 127, "", "not an executable file"
    if os.access(interpreter, os.X_OK):
        rc, out, err = module.run_command([interpreter, "-c", "import sys; print(*sys.version_info[:3])"])
    if rc != 0:
        module.fail_json(msg=f"The Python the release runs on, {interpreter}, does not start: {err.strip()}")
    version = tuple(int(part) for part in out.split())
    shown = ".".join(map(str, version))
    try:
        wanted, where = python_wanted_from(path)
        if module.params["check_python"] and wanted and not satisfies(version, wanted):
            module.fail_json(
                msg=python_refusal(wanted, shown, interpreter, where), python=shown, requires_python=wanted
            )
        found = declared(path, module.params["file"])
    except (LookupError, ValueError, OSError) as error:
        module.fail_json(msg=f"Reading the project's dependencies failed: {error}")
    module.exit_json(
        changed=False,
        kind=found["kind"],
        file=found["file"],
        checksum=found["checksum"],
        requirements=found["requirements"],
        python=shown,
        interpreter=interpreter,
        requires_python=wanted,
    )


if __name__ == "__main__":
    main()
