#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: Debian packages present, with no package manager started when they are."""

from __future__ import annotations

DOCUMENTATION = r"""
module: packages
version_added: 0.3.0
short_description: Debian packages present, at the price of one dpkg-query when they are
description:
  - Makes sure each package of O(name) is installed.
  - Its action plugin first asks C(dpkg-query) over the connection, without starting
    Python on the host; when every package is installed it reports no change and ends
    there. Only when a package is missing does it run M(ansible.builtin.apt) with the
    whole list (the package lists refreshed when older than O(cache_valid_time)), whose
    result it returns.
  - A converged host pays a few milliseconds instead of the package manager's start.
  - Names with a version, an architecture or a path always go to M(ansible.builtin.apt).
author: djangoprod.stack contributors (@djangoprod)
options:
  name:
    description: The packages.
    type: list
    elements: str
    required: true
  cache_valid_time:
    description: Refresh the package lists before installing when they are older than this (seconds).
    type: int
    default: 3600
  install_recommends:
    description:
      - Whether the packages they recommend are installed too; unset follows apt's
        configuration (Debian installs them).
    type: bool
attributes:
  check_mode:
    support: full
    description: Reports the packages that would be installed.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Install the web server
  djangoprod.stack.packages:
    name: [nginx, brotli]
  register: __nginx_install
"""

RETURN = r"""
missing:
  description: The packages that were not installed before this run.
  returned: always
  type: list
  elements: str
"""

import subprocess

from ansible.module_utils.basic import AnsibleModule


def installed(output: str) -> set[str]:
    """The installed packages in dpkg-query's C(${db:Status-Abbrev} ${Package}) lines."""
    return {line.split()[1] for line in output.splitlines() if len(line) > 1 and line[1] == "i"}


def main() -> None:
    # Without its action plugin: report what is missing, install nothing.
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "list", "elements": "str", "required": True},
            "cache_valid_time": {"type": "int", "default": 3600},
            "install_recommends": {"type": "bool"},
        },
        supports_check_mode=True,
    )
    names = module.params["name"]
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\\n", "--", *names],
        capture_output=True,
        text=True,
        check=False,
    )
    found = installed(done.stdout)
    missing = [name for name in names if name not in found]
    if missing:
        module.fail_json(msg=f"Not installed: {', '.join(missing)} (the action plugin installs them)")
    module.exit_json(changed=False, missing=[])


if __name__ == "__main__":
    main()
