#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: switch an application to a release, load it, check it answers, or go back."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_serve
version_added: 0.3.0
short_description: Switch to a release, load it into the running units and check it answers, or go back
description:
  - The end of a deploy or a rollback, in one call, on the layout the app role builds under
    O(root) (see M(djangoprod.stack.app_release)).
  - Switches C(current) to O(release) (publishing its static files first, and logging who
    switched to C(deploys.log)), unless it points there already.
  - Loads it, when it switched or with O(force), into O(unit) (the web server's unit) with
    a reload (gunicorn starts new workers on the new code while the old ones finish their
    requests), or a restart when the release uses another virtualenv or O(restart) says so
    (the environment changed); the socket queues connections meanwhile. The O(units)
    (workers, schedulers) are restarted. Nothing is loaded on a first deploy (no release ran
    before), the units having just been started on it.
  - Checks the site answers through this host's nginx with the site's name, as a browser
    would, naming the release (see M(djangoprod.stack.app_health)); stops at once when the
    unit restarts instead of serving.
  - When the load or the check fails, points C(current) back at the release that ran
    before, restarts the units on it, checks that one answers again and fails with what
    went wrong and the unit's last log lines.
  - Then removes old releases, keeping O(keep), and gives back the deploy lock O(unlock)
    names, when this run holds it, recording the run (what M(djangoprod.stack.deploy_lock)
    does with O(djangoprod.stack.deploy_lock#module:state=unlocked)), so that a deploy ends
    in this call. A failed call leaves the lock to the caller, which records the failure.
author: djangoprod.stack contributors (@djangoprod)
options:
  root:
    description: The application's directory (C(/srv/<app>)).
    type: path
    required: true
  release:
    description: The release to serve (its id, the directory name under C(releases/)).
    type: str
    required: true
  previous:
    description:
      - The release that ran before this run switched, when an earlier step of the same run
        switched already (the units were rewritten in between). Empty when this call switches.
    type: str
    default: ""
  by:
    description: Who switched, for the log (the controller's user).
    type: str
    default: unknown
  reason:
    description: Why, for the log.
    type: str
    choices: [deploy, rollback]
    default: deploy
  unit:
    description: The web server's systemd unit (C(gunicorn-<app>.service)); empty when the host serves no web.
    type: str
    default: ""
  units:
    description: Other services of the app, restarted onto the release.
    type: list
    elements: str
    default: []
  force:
    description:
      - Load the release into the units even when this call does not switch (the environment
        changed, or an earlier step of the run switched while the units were rewritten).
    type: bool
    default: false
  restart:
    description: Restart O(unit) rather than reload it (its environment changed).
    type: bool
    default: false
  health_host:
    description: The site's name (TLS SNI and C(Host)) for the check; empty skips the check.
    type: str
    default: ""
  health_path:
    description: The path the check requests.
    type: str
    default: /_djangoprod/health
  health_release:
    description:
      - Whether the answer must name O(release) (the stack's own check does; a project's own path does not).
    type: bool
    default: true
  health_timeout:
    description: Seconds the check waits for the answer.
    type: int
    default: 30
  address:
    description: Where nginx listens.
    type: str
    default: 127.0.0.1
  port:
    description: nginx's HTTPS port.
    type: int
    default: 443
  keep:
    description: Releases kept after a healthy switch, the current one included (0 keeps all).
    type: int
    default: 5
  unlock:
    description:
      - The deploy lock to give back once the release serves (nothing when empty).
      - C(name), the lock's name; C(holder), the holder M(djangoprod.stack.deploy_lock)
        returned when it took the lock (its C(run) must be the one holding it, else the lock
        is left as it is); C(audit_log), C(audit), C(metrics_directory), C(metrics_app), as
        M(djangoprod.stack.deploy_lock) takes them.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: >-
      Switches, loads and removes nothing; checks the running release answers and reports
      whether the call would switch.
  diff_mode:
    support: full
    description: Shows the release C(current) points to before and after.
"""

EXAMPLES = r"""
- name: Switch to the release and check it answers
  djangoprod.stack.app_serve:
    root: /srv/shop
    release: 4f2a9c1e07b3-1a2b3c4d
    by: "{{ lookup('env', 'USER') }}"
    unit: gunicorn-shop.service
    units: [shop-celery.service]
    health_host: shop.example.com
"""

RETURN = r"""
current:
  description: The release C(current) points to.
  returned: always
  type: str
previous:
  description: The release that ran before (the one to roll back to).
  returned: always
  type: str
record:
  description: The record of the release served (what built it, its entry point).
  returned: success
  type: dict
venv_changed:
  description: Whether the release uses another virtualenv than the one before.
  returned: always
  type: bool
loaded:
  description: How the release reached O(unit) (V(reloaded), V(restarted)), empty when it did not have to.
  returned: always
  type: str
health:
  description: The check's answer (status, release, seconds).
  returned: when checked
  type: dict
removed:
  description: What the pruning removed.
  returned: success
  type: dict
unlocked:
  description: The line recorded in the audit log when the lock O(unlock) names was given back, else empty.
  returned: success
  type: dict
step:
  description: What failed (V(load) or V(health)).
  returned: failure
  type: str
restored:
  description: Whether the release that ran before serves again after the failure.
  returned: failure
  type: bool
"""

import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils import lock as locks
from ansible_collections.djangoprod.stack.plugins.module_utils.health import journal_tail, wait_for_answer
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import (
    previous_release,
    prune,
    read_current,
    read_record,
    switch_logged,
    venv_of,
)


def systemctl(*args: str) -> tuple[bool, str]:
    proc = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def load(unit: str, units: list[str], restart: bool) -> tuple[bool, str]:
    """Reload (or restart) the web unit, restart the others; (ok, what failed)."""
    if unit:
        ok, out = systemctl("restart" if restart else "reload-or-restart", unit)
        if not ok:
            return False, f"systemctl {'restart' if restart else 'reload'} {unit}: {out}"
    if units:
        ok, out = systemctl("restart", *units)
        if not ok:
            return False, f"systemctl restart {' '.join(units)}: {out}"
    return True, ""


def give_back(module: AnsibleModule, unlock: dict) -> dict:
    """Give back the lock `unlock` names when this run holds it; the audit line, else {}."""
    holder = unlock.get("holder") or {}
    if not unlock.get("name") or not holder.get("run"):
        return {}
    with locks.lock_file(unlock["name"], locks.LOCK_DIR) as (handle, current):
        if current.get("run") != holder["run"]:
            return {}
        return locks.give_back(module, handle, current, unlock["name"], holder, unlock)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "previous": {"type": "str", "default": ""},
            "by": {"type": "str", "default": "unknown"},
            "reason": {"type": "str", "default": "deploy", "choices": ["deploy", "rollback"]},
            "unit": {"type": "str", "default": ""},
            "units": {"type": "list", "elements": "str", "default": []},
            "force": {"type": "bool", "default": False},
            "restart": {"type": "bool", "default": False},
            "health_host": {"type": "str", "default": ""},
            "health_path": {"type": "str", "default": "/_djangoprod/health"},
            "health_release": {"type": "bool", "default": True},
            "health_timeout": {"type": "int", "default": 30},
            "address": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 443},
            "keep": {"type": "int", "default": 5},
            "unlock": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    p = module.params
    start = time.time()
    root, release = p["root"], p["release"]
    record = read_record(root, release)
    if record is None:
        module.fail_json(msg=f"release {release} is not a complete release under {root}/releases")
    current = read_current(root)
    switching = current != release
    # The release to go back to when this one fails: what ran before this run switched.
    before = p["previous"] or (current if switching else "")
    venv_changed = bool(before) and venv_of(root, before) != venv_of(root, release)
    result = {
        "current": current if module.check_mode else release,
        "previous": before or previous_release(root) or "",
        "venv_changed": venv_changed,
        "loaded": "",
        "diff": {"before": f"current -> {current}\n", "after": f"current -> {release}\n"},
    }

    def check(wanted: str) -> tuple[bool, dict]:
        path = p["health_path"]
        return wait_for_answer(
            p["health_host"], path, wanted, p["unit"], p["address"], p["port"], p["health_timeout"]
        )

    if module.check_mode:
        # The running release answers (the one a switch would replace, or this one).
        if p["unit"] and p["health_host"]:
            answered, health = check(release if p["health_release"] and not switching else "")
            if not answered:
                module.fail_json(step="health", restored=False, **result, **{"msg": health.pop("msg")})
            result["health"] = health
        module.exit_json(changed=switching, record=record, **result)

    if switching:
        switch_logged(root, release, p["by"], p["reason"])
    # A first deploy has nothing running to load into: its units were just started on it.
    if (switching and before) or p["force"]:
        restart = p["restart"] or venv_changed
        ok, failure = load(p["unit"], p["units"], restart)
        step = "load"
        if ok:
            result["loaded"] = ("restarted" if restart else "reloaded") if p["unit"] else ""
    else:
        ok, failure, step = True, "", ""
    if ok and p["unit"] and p["health_host"]:
        ok, health = check(release if p["health_release"] else "")
        result["health"] = health
        failure, step = ("" if ok else health.pop("msg")), "health"
    if ok:
        changed, removed = prune(root, p["keep"]) if p["keep"] > 0 else (False, {})
        module.exit_json(
            changed=switching or bool(result["loaded"]) or changed,
            record=record,
            removed=removed,
            unlocked=give_back(module, p["unlock"]),
            **result,
        )

    # Back to what ran before, when there was one.
    logged = journal_tail(p["unit"], start, 15) if p["unit"] and step == "load" else ""
    restored = False
    if before:
        switch_logged(root, before, p["by"], "restore")
        load(p["unit"], p["units"], True)
        restored = not p["unit"] or not p["health_host"] or check("")[0]
        back = (
            f"Switched back to {before}, which serves again."
            if restored
            else f"Switched back to {before}, which does not answer either."
        )
    else:
        back = "There was no release to switch back to."
    module.fail_json(
        msg=(
            f"Release {release} failed after the switch, at '{step}'. {back} The cause: {failure}"
            + (f"\nIts last log lines:\n{logged}" if logged else "")
        ),
        step=step,
        restored=restored,
        **{**result, "current": before or release},
    )


if __name__ == "__main__":
    main()
