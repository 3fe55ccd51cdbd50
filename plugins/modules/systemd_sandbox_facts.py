#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: which systemd sandboxing options this host can apply."""

from __future__ import annotations

DOCUMENTATION = r"""
module: systemd_sandbox_facts
version_added: 0.1.0
short_description: Find out which systemd sandboxing options work on this host
description:
  - Starts a transient unit with each option that needs kernel privileges a
    container may lack (user namespaces for C(PrivateUsers=), C(DynamicUser=)), run
    as the hardened units run (a non-root user, C(ProtectProc=invisible)), and
    reports which of them work.
  - Unit drop-ins use this to harden services as far as the host allows, instead of
    breaking them where an option cannot be applied (an LXC or docker guest, say).
  - Also sets the host fact C(djangoprod_systemd_sandbox) (the same keys), so the
    roles of one run probe a host once; a role skips the probe when the fact is set.
  - Changes nothing on the host.
author: djangoprod.stack contributors (@djangoprod)
options: {}
attributes:
  check_mode:
    support: full
    description: The probes run in check mode too; they change nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Find out which sandboxing options work
  djangoprod.stack.systemd_sandbox_facts:
  register: sandbox

- name: Use it in a drop-in
  ansible.builtin.debug:
    msg: "PrivateUsers={{ sandbox.private_users | ternary('yes', 'no') }}"

- name: Probe only when no earlier role of this run did
  djangoprod.stack.systemd_sandbox_facts:
  when: ansible_facts.djangoprod_systemd_sandbox is not defined
"""

RETURN = r"""
private_users:
  description: Whether C(PrivateUsers=yes) works.
  returned: success
  type: bool
dynamic_user:
  description: Whether C(DynamicUser=yes) works.
  returned: success
  type: bool
ansible_facts:
  description: The same results as a host fact.
  returned: success
  type: dict
  contains:
    djangoprod_systemd_sandbox:
      description: RV(private_users) and RV(dynamic_user) under these names.
      returned: success
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

# Each option as the hardened units use it: for a non-root user and with their /proc
# options (in a docker guest PrivateUsers= works alone, but not for a non-root user
# together with ProtectProc=invisible, which then needs a new /proc in the namespace).
PROBES = {
    "private_users": ["User=nobody", "PrivateUsers=yes", "ProtectProc=invisible", "ProcSubset=pid"],
    "dynamic_user": ["DynamicUser=yes", "ProtectProc=invisible", "ProcSubset=pid"],
}


def probe(module: AnsibleModule, systemd_run: str, properties: list[str]) -> bool:
    cmd = [systemd_run, "--wait", "--quiet", "--collect", "--pipe"]
    for prop in properties:
        cmd += ["-p", prop]
    rc, _out, _err = module.run_command([*cmd, "/bin/true"])
    return rc == 0


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    systemd_run = module.get_bin_path("systemd-run", required=True)
    results = {name: probe(module, systemd_run, props) for name, props in PROBES.items()}
    module.exit_json(changed=False, ansible_facts={"djangoprod_systemd_sandbox": results}, **results)


if __name__ == "__main__":
    main()
