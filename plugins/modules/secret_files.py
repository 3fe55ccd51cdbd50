#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: files holding secrets in one directory, written in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: secret_files
version_added: 0.3.0
short_description: Files holding secrets in one directory, written in one call
description:
  - Makes each file of O(files) in O(directory) hold exactly the given content, with
    O(owner), O(group) and O(mode); writes only those that differ (atomically).
  - Returns the names of the files it changed, never their content; the content is not
    logged (the option is C(no_log)) and the diff names the files only.
  - Files of the directory that O(files) does not name are left alone.
author: djangoprod.stack contributors (@djangoprod)
options:
  directory:
    description: The directory (it must exist).
    type: path
    required: true
  files:
    description: File name to content, written as given (add the final newline).
    type: dict
    required: true
  owner:
    description: Owner of the files.
    type: str
    default: root
  group:
    description: Group of the files.
    type: str
    default: root
  mode:
    description: Permissions of the files.
    type: raw
    default: "0600"
attributes:
  check_mode:
    support: full
    description: Reports which files would change without writing them.
  diff_mode:
    support: full
    description: Names the files that change, never what they hold.
"""

EXAMPLES = r"""
- name: Keep the app's passwords and environment
  djangoprod.stack.secret_files:
    directory: /etc/djangoprod/shop
    files:
      database_password: "{{ vault_database_password }}\n"
      environment: "{{ lookup('ansible.builtin.template', 'environment.j2') }}"
"""

RETURN = r"""
changed_files:
  description: The names of the files written (or that would be).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.secrets import bad_names, keep_files


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "files": {"type": "dict", "required": True, "no_log": True},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "raw", "default": "0600"},
        },
        supports_check_mode=True,
    )
    directory = module.params["directory"]
    files = module.params["files"]
    bad = bad_names(files)
    if bad:
        module.fail_json(msg=f"files must be plain file names in {directory}, got {', '.join(bad)}")
    if not os.path.isdir(directory) and not module.check_mode:
        module.fail_json(msg=f"directory {directory} does not exist; create it first")
    p = module.params
    changed_files = keep_files(module, directory, files, p["owner"], p["group"], p["mode"], module.check_mode)
    module.exit_json(
        changed=bool(changed_files),
        changed_files=changed_files,
        diff={"before": "", "after": "".join(f"{name} (changed)\n" for name in changed_files)},
    )


if __name__ == "__main__":
    main()
