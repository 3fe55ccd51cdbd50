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
removed:
  description: What V(prune) removed (or would).
  returned: action=prune
  type: dict
"""

import contextlib
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

RECORD = ".djangoprod-release.json"


def read_current(root: str) -> str | None:
    try:
        return os.path.basename(os.readlink(os.path.join(root, "current")))
    except OSError:
        return None


def read_log(root: str, name: str = "deploys.log") -> list[dict]:
    try:
        with open(os.path.join(root, name), encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def read_record(root: str, release: str) -> dict | None:
    try:
        with open(os.path.join(root, "releases", release, RECORD), encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return None


def release_dirs(root: str) -> list[str]:
    directory = os.path.join(root, "releases")
    if not os.path.isdir(directory):
        return []
    return sorted(name for name in os.listdir(directory) if os.path.isdir(os.path.join(directory, name)))


def by_last_use(root: str) -> list[dict]:
    """Built releases, most recently switched to (or built) first."""
    used: dict[str, str] = {}
    for entry in read_log(root):
        used[entry["to"]] = max(used.get(entry["to"], ""), entry["at"])
    releases = []
    for name in release_dirs(root):
        record = read_record(root, name)
        if record is None:
            continue
        releases.append(
            {"id": name, "last_used": used.get(name, record.get("built_at", "")), "record": record}
        )
    return sorted(releases, key=lambda r: (r["last_used"], r["id"]), reverse=True)


def venv_of(root: str, release: str) -> str | None:
    try:
        return os.path.basename(os.readlink(os.path.join(root, "releases", release, "venv")))
    except OSError:
        return None


def previous_release(root: str) -> str | None:
    log = read_log(root)
    return log[-1].get("from") if log else None


def collected_dir(root: str, release: str) -> str:
    """Where a release's static files were collected (releases/<id>/static before 0.2)."""
    collected = os.path.join(root, "collected", release)
    return collected if os.path.isdir(collected) else os.path.join(root, "releases", release, "static")


def publish_static(root: str, release: str) -> int:
    """Hard-link the release's collected static files into shared/static; returns files linked."""
    source = collected_dir(root, release)
    target = os.path.join(root, "shared", "static")
    linked = 0
    if not os.path.isdir(source):
        return 0
    for directory, _dirs, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        destination = os.path.normpath(os.path.join(target, relative))
        os.makedirs(destination, mode=0o755, exist_ok=True)
        for name in files:
            src = os.path.join(directory, name)
            dst = os.path.join(destination, name)
            if os.path.exists(dst) and os.path.samefile(src, dst):
                continue
            tmp = f"{dst}.djangoprod-new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.link(src, tmp)
            os.replace(tmp, dst)
            linked += 1
    return linked


def switch(root: str, release: str) -> None:
    link = os.path.join(root, "current")
    tmp = f"{link}.djangoprod-new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join("releases", release), tmp)
    os.replace(tmp, link)


def append_log(root: str, entry: dict) -> None:
    path = os.path.join(root, "deploys.log")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    os.chmod(path, 0o644)


def prune_plan(root: str, keep: int) -> dict:
    current = read_current(root)
    built = by_last_use(root)
    kept = [r["id"] for r in built if r["id"] == current]
    kept += [r["id"] for r in built if r["id"] != current][: max(keep - len(kept), 0)]
    releases = [name for name in release_dirs(root) if name not in kept and name != current]
    venvs_dir = os.path.join(root, "venvs")
    used_venvs = set()
    for name in kept:
        with contextlib.suppress(OSError):
            used_venvs.add(os.path.basename(os.readlink(os.path.join(root, "releases", name, "venv"))))
    venvs = []
    if os.path.isdir(venvs_dir):
        venvs = sorted(name for name in os.listdir(venvs_dir) if name not in used_venvs)
    collected_top = os.path.join(root, "collected")
    collected = []
    if os.path.isdir(collected_top):
        collected = sorted(name for name in os.listdir(collected_top) if name not in kept and name != current)
    return {"releases": releases, "venvs": venvs, "collected": collected, "kept": kept}


def orphan_static(root: str) -> list[str]:
    """Files in shared/static that no release holds any more (their only link is this one)."""
    target = os.path.join(root, "shared", "static")
    orphans = []
    for directory, _dirs, files in os.walk(target):
        for name in files:
            path = os.path.join(directory, name)
            if os.lstat(path).st_nlink == 1:
                orphans.append(os.path.relpath(path, target))
    return sorted(orphans)


def remove_empty_dirs(top: str) -> None:
    for directory, dirs, files in os.walk(top, topdown=False):
        if directory != top and not dirs and not files:
            os.rmdir(directory)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "action": {"type": "str", "default": "info", "choices": ["info", "switch", "prune"]},
            "release": {"type": "str"},
            "keep": {"type": "int", "default": 5},
            "by": {"type": "str", "default": "unknown"},
            "reason": {"type": "str", "default": "deploy"},
        },
        required_if=[("action", "switch", ["release"])],
        supports_check_mode=True,
    )
    root = module.params["root"]
    action = module.params["action"]
    current = read_current(root)

    if action == "info":
        module.exit_json(
            changed=False,
            current=current,
            previous=previous_release(root),
            releases=by_last_use(root),
            deploys=read_log(root)[-20:],
            audit=read_log(root, "audit.log")[-20:],
        )

    if action == "switch":
        release = module.params["release"]
        if read_record(root, release) is None:
            module.fail_json(msg=f"release {release} is not a complete release under {root}/releases")
        changed = current != release
        if changed and not module.check_mode:
            publish_static(root, release)
            switch(root, release)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            entry = {"at": now, "by": module.params["by"], "reason": module.params["reason"]}
            append_log(root, {**entry, "from": current, "to": release})
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
    plan = prune_plan(root, module.params["keep"])
    changed = bool(plan["releases"] or plan["venvs"] or plan["collected"])
    static: list[str] = []
    if not module.check_mode:
        for name in plan["releases"]:
            shutil.rmtree(os.path.join(root, "releases", name))
        for name in plan["venvs"]:
            shutil.rmtree(os.path.join(root, "venvs", name))
        for name in plan["collected"]:
            shutil.rmtree(os.path.join(root, "collected", name))
        static = orphan_static(root)
        for relative in static:
            os.unlink(os.path.join(root, "shared", "static", relative))
        if static:
            remove_empty_dirs(os.path.join(root, "shared", "static"))
    changed = changed or bool(static)
    removed = {"releases": plan["releases"], "venvs": plan["venvs"], "static_files": len(static)}
    module.exit_json(changed=changed, current=current, previous=previous_release(root), removed=removed)


if __name__ == "__main__":
    main()
