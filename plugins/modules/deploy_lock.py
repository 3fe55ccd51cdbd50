#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: one run at a time on an application (or a load balancer), and the record of each."""

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
version_added: 0.3.0
short_description: One deploy, rollback or site run at a time, and an audit log of them
description:
  - Takes or gives back a lock held by one Ansible run (O(holder)), in a root-only file
    under C(/run/djangoprod), so that two runs from any controllers never work on the same
    application or load balancer at once.
  - A second run is refused, with the holder named (who, from which controller, since when,
    doing what). The lock is re-entrant for the run holding it, and each time it is taken
    again its lease is renewed.
  - A lock whose holder is gone is taken over; the record of the abandoned run goes to the
    audit log. The action plugin tells a gone holder on the same controller by its process;
    from another controller, by a lease not renewed for O(lease) seconds, or O(takeover)
    naming the run.
  - Giving the lock back appends O(audit) (with who, when and how long) to O(audit_log) as
    one JSON line, and to the journal.
  - Use it through its action plugin, which fills O(holder) from the controller.
  - The lock and the log are the run's own bookkeeping, not the host's state, so the module
    reports no change, so a second converge still reports changed=0.
author: djangoprod.stack contributors (@djangoprod)
options:
  name:
    description:
      - What the lock guards, such as V(app-shop) or V(lb-djangoprod).
      - The file is C(/run/djangoprod/<name>.lock).
    type: str
    required: true
  state:
    description: V(locked) takes the lock (or renews it), V(unlocked) gives it back.
    type: str
    choices: [locked, unlocked]
    default: locked
  holder:
    description: The run, filled in by the action plugin (run, user, controller, pid, what).
    type: dict
    required: true
  lease:
    description: Seconds after its last renewal that a lock from another controller counts as abandoned.
    type: int
    default: 3600
  takeover:
    description: The run id of a holder known to be gone, whose lock is taken over.
    type: str
    default: ""
  audit_log:
    description: The file that gets one JSON line per run given back (and per abandoned run found).
    type: path
  audit:
    description: What the run did, appended to O(audit_log) with O(state=unlocked) (result, release, step...).
    type: dict
    default: {}
  metrics_directory:
    description:
      - With O(state=unlocked), node exporter's textfile directory, where the result of the
        last run of each kind (O(holder).what) is kept as C(djangoprod_deploy_last_run_success)
        and C(djangoprod_deploy_last_run_timestamp_seconds), labelled C(app) and C(what), in
        C(djangoprod_deploy_<name>.prom). Nothing is written when the directory does not exist.
    type: path
  metrics_app:
    description: The C(app) label of those metrics (O(name) when empty).
    type: str
    default: ""
  releases_root:
    description:
      - With O(state=locked), an application's root whose releases are read under the lock
        and returned as RV(releases), what M(djangoprod.stack.app_release) returns with
        V(info). A deploy takes its lock and learns what the host runs in one call.
    type: path
  read:
    description: With O(releases_root), files whose text is returned in RV(releases).files.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Reports whether the lock could be taken, and takes nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: One run at a time on this application
  djangoprod.stack.deploy_lock:
    name: app-shop
    holder:
      what: deploy
    audit_log: /srv/shop/audit.log
"""

RETURN = r"""
holder:
  description: The run holding the lock now (or the other run that holds it, on refusal).
  returned: always
  type: dict
conflict:
  description: Whether another run holds the lock (the action plugin then fails, naming it).
  returned: always
  type: bool
abandoned:
  description: The record of an abandoned holder this run took over, else empty.
  returned: always
  type: dict
audit:
  description: The line appended to O(audit_log) (who, what, when, how long, the result).
  returned: state=unlocked
  type: dict
releases:
  description:
    - The releases under O(releases_root) (current, previous, releases, deploys, audit,
      files), as M(djangoprod.stack.app_release) returns them with V(info); also when
      another run holds the lock.
  returned: O(releases_root) is set and O(state=locked)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.lock import (
    LOCK_DIR,
    append_audit,
    give_back,
    lock_file,
    now,
    seconds_since,
    write_lock,
)
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import info


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "locked", "choices": ["locked", "unlocked"]},
            "holder": {"type": "dict", "required": True},
            "lease": {"type": "int", "default": 3600},
            "takeover": {"type": "str", "default": ""},
            "audit_log": {"type": "path"},
            "audit": {"type": "dict", "default": {}},
            "metrics_directory": {"type": "path"},
            "metrics_app": {"type": "str", "default": ""},
            "releases_root": {"type": "path"},
            "read": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    holder = dict(params["holder"])
    name = params["name"]
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        module.fail_json(msg=f"deploy_lock name must be letters, digits, '-', '_' or '.', got {name!r}")
    if not holder.get("run"):
        module.fail_json(msg="holder.run is missing: use the module through its action plugin")
    # The file stays; its content says who holds it.
    with lock_file(name, LOCK_DIR) as (handle, current):
        ours = current.get("run") == holder["run"]
        held = bool(current.get("run")) and not ours

        def write(content: dict) -> None:
            if not module.check_mode:
                write_lock(handle, content)

        if params["state"] == "unlocked":
            if held:
                module.warn(f"The lock {name} is held by another run ({current.get('run')}); left as it is.")
                module.exit_json(changed=False, holder=current, conflict=True, abandoned={})
            entry = give_back(module, handle, current, name, holder, params)
            module.exit_json(changed=False, holder={}, conflict=False, abandoned={}, audit=entry)

        # Read under the lock: what the host runs cannot change while it is held.
        releases = (
            {"releases": info(params["releases_root"], params["read"])} if params["releases_root"] else {}
        )
        abandoned: dict = {}
        if held:
            stale = seconds_since(current.get("renewed", "")) > params["lease"]
            if params["takeover"] == current.get("run") or stale:
                abandoned = current
            else:
                module.exit_json(changed=False, holder=current, conflict=True, abandoned={}, **releases)
        if abandoned and not module.check_mode:
            append_audit(
                module,
                params["audit_log"],
                {
                    "what": abandoned.get("what", ""),
                    "by": abandoned.get("user", ""),
                    "controller": abandoned.get("controller", ""),
                    "run": abandoned.get("run", ""),
                    "started": abandoned.get("since", ""),
                    "at": now(),
                    "result": "abandoned",
                    "message": f"its run ended without giving the lock back; taken over by {holder['run']}",
                },
            )
        record = {**holder, "since": current.get("since", now()) if ours else now(), "renewed": now()}
        write(record)
        module.exit_json(changed=False, holder=record, conflict=False, abandoned=abandoned, **releases)


if __name__ == "__main__":
    main()
