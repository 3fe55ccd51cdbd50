#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: a warning in the run's output (its action plugin does the work)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: warning
version_added: 0.4.0
short_description: Print a warning for a risk the inventory chose
description:
  - Shows O(msg) as an Ansible warning (C([WARNING]), also in the run's recap of
    warnings) naming the host, and changes nothing.
  - For a setting that works but that the user should not leave as it is, such as a
    backup repository on the database's own disk.
  - Runs on the controller only (an action plugin).
author: djangoprod.stack contributors (@djangoprod)
options:
  msg:
    description: What is at risk and what to set instead; whitespace is folded.
    type: str
    required: true
extends_documentation_fragment:
  - djangoprod.stack.attributes.READ_ONLY
"""

EXAMPLES = r"""
- name: Say that the backups share the database's disk
  djangoprod.stack.warning:
    msg: The backups are on this host's disk; add a host to backupservers.
"""

RETURN = r"""
msg:
  description: The warning as shown.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={"msg": {"type": "str", "required": True}}, supports_check_mode=True)
    module.warn(module.params["msg"])
    module.exit_json(changed=False, msg=module.params["msg"])


if __name__ == "__main__":
    main()
