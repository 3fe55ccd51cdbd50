#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: an application's releases on a host: list, switch `current`, prune."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_release
version_added: 0.1.0
short_description: An application's releases on a host (list, switch, prune)
description:
  - Works on the layout the app role builds under O(root)
    (C(releases/<id>/), C(current -> releases/<id>), C(venvs/<key>/), C(collected/<id>/) (each
    release's collected static files, outside its code), C(shared/static/), C(deploys.log)).
  - V(info) lists the releases (newest use first) with their records, the current one and
    the one before it.
  - V(switch) publishes the release's collected static files into C(shared/static) (hard
    links, so files of earlier releases stay served to pages already out), points
    C(current) at the release atomically (rename of a new link over the old) and appends
    who switched, when, from what, to C(deploys.log).
  - V(prune) keeps the current release and the O(keep) most recently used ones, removing
    older releases, half-built ones, virtualenvs no kept release uses, and static files
    no kept release holds.
author: djangoprod.stack contributors (@djangoprod)
options:
  root:
    description: The application's directory (C(/srv/<app>)).
    type: path
    required: true
  action:
    description: What to do.
    type: str
    choices: [info, switch, prune]
    default: info
  release:
    description: The release to switch to (its id, the directory name under C(releases/)).
    type: str
  keep:
    description: How many releases V(prune) keeps, the current one included.
    type: int
    default: 5
  by:
    description: Who switched, for the log (the controller's user).
    type: str
    default: unknown
  reason:
    description: Why, for the log (V(deploy), V(rollback), V(restore)).
    type: str
    default: deploy
  read:
    description: Small files V(info) also returns the text of (records the role keeps), in the same call.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what V(switch) and V(prune) would change without changing it.
  diff_mode:
    support: full
    description: V(switch) shows the release C(current) points to before and after.
"""

EXAMPLES = r"""
- name: Switch to the new release
  djangoprod.stack.app_release:
    root: /srv/shop
    action: switch
    release: 4f2a9c1e07b3-1a2b3c4d
    by: "{{ lookup('env', 'USER') }}"
"""

RETURN = r"""
current:
  description: The release C(current) points to (after a switch).
  returned: success
  type: str
record:
  description: The record of the release switched to (what built it, its entry point).
  returned: action=switch
  type: dict
venv_changed:
  description: Whether the release switched to uses another virtualenv than the one before (then a restart).
  returned: action=switch
  type: bool
previous:
  description: The release C(current) pointed to before the last switch.
  returned: success
  type: str
releases:
  description: Releases on the host, most recently used first, with their records.
  returned: action=info
  type: list
  elements: dict
deploys:
  description: The last 20 switches (at, by, reason, from, to).
  returned: action=info
  type: list
  elements: dict
audit:
  description: The last 20 runs of C(audit.log) (deploys, rollbacks, site runs, done, failed or abandoned).
  returned: action=info
  type: list
  elements: dict
files:
  description: The text of each file of O(read), null for one that is not there.
  returned: action is info
  type: dict
removed:
  description: What V(prune) removed (or would).
  returned: action=prune
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import (
    info,
    previous_release,
    prune,
    read_current,
    read_record,
    switch_logged,
    venv_of,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "action": {"type": "str", "default": "info", "choices": ["info", "switch", "prune"]},
            "release": {"type": "str"},
            "keep": {"type": "int", "default": 5},
            "by": {"type": "str", "default": "unknown"},
            "reason": {"type": "str", "default": "deploy"},
            "read": {"type": "list", "elements": "path", "default": []},
        },
        required_if=[("action", "switch", ["release"])],
        supports_check_mode=True,
    )
    root = module.params["root"]
    action = module.params["action"]
    current = read_current(root)

    if action == "info":
        module.exit_json(changed=False, **info(root, module.params["read"]))

    if action == "switch":
        release = module.params["release"]
        if read_record(root, release) is None:
            module.fail_json(msg=f"release {release} is not a complete release under {root}/releases")
        changed = current != release
        if changed and not module.check_mode:
            switch_logged(root, release, module.params["by"], module.params["reason"])
        module.exit_json(
            changed=changed,
            current=release,
            record=read_record(root, release),
            venv_changed=changed and current is not None and venv_of(root, current) != venv_of(root, release),
            previous=current if changed else previous_release(root),
            diff={"before": f"current -> {current}\n", "after": f"current -> {release}\n"},
        )

    if module.params["keep"] < 1:
        module.fail_json(msg=f"keep must be at least 1, got {module.params['keep']}")
    changed, removed = prune(root, module.params["keep"], module.check_mode)
    module.exit_json(changed=changed, current=current, previous=previous_release(root), removed=removed)


if __name__ == "__main__":
    main()
