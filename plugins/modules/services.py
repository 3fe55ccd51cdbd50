#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: several systemd units kept enabled and running, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: services
short_description: Keep several systemd units enabled and running, restarting the ones asked, in one call
version_added: "1.0.0"
description:
  - Reads the state of every unit with one C(systemctl show), then starts, restarts,
    reloads and enables only what needs it. A role's services or timers cost one module
    call on a re-run instead of one per unit.
  - Runs C(systemctl daemon-reload) first when asked (after unit files or drop-ins changed).
author: djangoprod.stack contributors (@djangoprod)
options:
  units:
    description: The units (with their suffix, such as V(nginx.service) or V(backup.timer)).
    type: list
    elements: str
    required: true
  restart:
    description: Units among O(units) to restart (their configuration changed); started when not running.
    type: list
    elements: str
    default: []
  reload:
    description: Units among O(units) to reload (their configuration changed); started when not running.
    type: list
    elements: str
    default: []
  stopped:
    description: Units among O(units) to keep stopped (stopped when running) instead of running.
    type: list
    elements: str
    default: []
  disabled:
    description: Units among O(units) to keep disabled (disabled when enabled) instead of enabled at boot.
    type: list
    elements: str
    default: []
  enable_only:
    description:
      - Units among O(units) whose running state is left as it is (only enabled, or disabled
        when in O(disabled)), such as a daemon that declines to run inside a container.
    type: list
    elements: str
    default: []
  daemon_reload:
    description: Run C(systemctl daemon-reload) first.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would be started, restarted, reloaded or enabled, and does nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Run the exporters
  djangoprod.stack.services:
    units: [prometheus-node-exporter.service, mtail.service]
    restart: "{{ ['mtail.service'] if __mtail_config is changed else [] }}"
    daemon_reload: "{{ __dropins is changed }}"
"""

RETURN = r"""
started:
  description: Units started (they were not running).
  returned: always
  type: list
  elements: str
restarted:
  description: Units restarted.
  returned: always
  type: list
  elements: str
reloaded:
  description: Units reloaded.
  returned: always
  type: list
  elements: str
enabled:
  description: Units enabled.
  returned: always
  type: list
  elements: str
stopped:
  description: Units stopped (they were running and are in O(stopped)).
  returned: always
  type: list
  elements: str
disabled:
  description: Units disabled (they were enabled and are in O(disabled)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule


def states(module: AnsibleModule, units: list[str]) -> dict[str, dict[str, str]]:
    """ActiveState, UnitFileState and LoadState of each unit, from one systemctl call."""
    rc, out, err = module.run_command(
        ["systemctl", "show", "--property=Id,ActiveState,UnitFileState,LoadState", "--", *units]
    )
    if rc != 0:
        module.fail_json(msg=f"systemctl show failed: {err.strip() or out.strip()}")
    found: list[dict[str, str]] = []
    for block in out.strip().split("\n\n"):
        found.append(dict(line.split("=", 1) for line in block.splitlines() if "=" in line))
    if len(found) != len(units):
        module.fail_json(msg=f"systemctl show answered for {len(found)} of {len(units)} units: {out[-500:]}")
    # systemctl prints the blocks in the order the units were given.
    return dict(zip(units, found))  # noqa: B905 (counted above; strict= needs Python 3.10)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "units": {"type": "list", "elements": "str", "required": True},
            "restart": {"type": "list", "elements": "str", "default": []},
            "reload": {"type": "list", "elements": "str", "default": []},
            "stopped": {"type": "list", "elements": "str", "default": []},
            "disabled": {"type": "list", "elements": "str", "default": []},
            "enable_only": {"type": "list", "elements": "str", "default": []},
            "daemon_reload": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    units, restart, reload = module.params["units"], module.params["restart"], module.params["reload"]
    stopped, disabled, enable_only = (module.params[k] for k in ("stopped", "disabled", "enable_only"))
    stray = sorted(set(restart + reload + stopped + disabled + enable_only) - set(units))
    if stray:
        module.fail_json(
            msg=f"restart, reload, stopped, disabled and enable_only name units that are not in units: "
            f"{', '.join(stray)}"
        )
    both = sorted(set(stopped) & set(restart + reload))
    if both:
        module.fail_json(msg=f"units both kept stopped and restarted or reloaded: {', '.join(both)}")
    if module.params["daemon_reload"] and not module.check_mode:
        rc, _out, err = module.run_command(["systemctl", "daemon-reload"])
        if rc != 0:
            module.fail_json(msg=f"systemctl daemon-reload failed: {err.strip()}")
    result: dict[str, list[str]] = {
        "started": [],
        "restarted": [],
        "reloaded": [],
        "enabled": [],
        "stopped": [],
        "disabled": [],
    }
    for unit, state in states(module, units).items():
        if state.get("LoadState") != "loaded":
            module.fail_json(
                msg=f"{unit} is not a unit systemd knows ({state.get('LoadState', 'not found')})"
            )
        running = state.get("ActiveState") in ("active", "activating", "reloading")
        if unit in stopped:
            action, key = ("stop", "stopped") if running else ("", "")
        elif unit in restart:
            action, key = "restart", "restarted"
        elif unit in reload and running:
            action, key = "reload", "reloaded"
        elif not running and unit not in enable_only:
            action, key = "start", "started"
        else:
            action = key = ""
        if action:
            result[key].append(unit)
            if not module.check_mode:
                rc, out, err = module.run_command(["systemctl", action, unit])
                if rc != 0:
                    module.fail_json(
                        msg=f"systemctl {action} {unit} failed: {(err or out).strip()} "
                        f"(see: systemctl status {unit}; journalctl -u {unit})",
                        **result,
                    )
        # static, generated or alias units cannot be enabled or disabled, and need not be.
        if unit in disabled:
            action, key = ("disable", "disabled") if state.get("UnitFileState") == "enabled" else ("", "")
        else:
            action, key = ("enable", "enabled") if state.get("UnitFileState") == "disabled" else ("", "")
        if action:
            result[key].append(unit)
            if not module.check_mode:
                rc, out, err = module.run_command(["systemctl", action, unit])
                if rc != 0:
                    module.fail_json(
                        msg=f"systemctl {action} {unit} failed: {(err or out).strip()}", **result
                    )
    module.exit_json(changed=any(result.values()), **result)


if __name__ == "__main__":
    main()
