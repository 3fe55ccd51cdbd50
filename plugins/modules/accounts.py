#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: local groups and users, several in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accounts
short_description: Keep several local groups and users as described, in one call
version_added: "1.0.0"
description:
  - Reads the groups and users from the system's databases, then runs C(groupadd),
    C(useradd) and C(usermod) only for what is missing or differs. A role's accounts cost
    one module call on a re-run instead of one per group and user.
  - Groups come first, so a user can name a group of the same call as its own.
  - Never removes a group or a user, and never takes a user out of a group.
author: djangoprod.stack contributors (@djangoprod)
options:
  groups:
    description: Groups that must exist.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The group's name.
        type: str
        required: true
      system:
        description: Created as a system group (an id below 1000).
        type: bool
        default: true
  users:
    description: Users that must exist, with these properties.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The user's name.
        type: str
        required: true
      group:
        description: Its primary group, which must exist; by default a new user gets a group of its own name.
        type: str
      groups:
        description: Groups the user is added to (it stays in others).
        type: list
        elements: str
        default: []
      system:
        description: Created as a system user (an id below 1000).
        type: bool
        default: false
      shell:
        description: Its login shell.
        type: str
      home:
        description:
          - Its home directory; by default the one C(useradd) gives a new user, unchanged for an
            existing one.
        type: str
      create_home:
        description: Create the home directory (from C(/etc/skel)) when the user is created.
        type: bool
        default: false
      comment:
        description: Its comment (GECOS) field.
        type: str
      password_lock:
        description: Lock its password (no password login), as C(usermod -L) does.
        type: bool
        default: false
attributes:
  check_mode:
    support: full
    description: Reports what would be created or changed, and does nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Create the application's group and users
  djangoprod.stack.accounts:
    groups:
      - name: shop
    users:
      - {name: shop, group: shop, system: true, shell: /usr/sbin/nologin, home: /srv/shop}
      - {name: ops, groups: [sudo], shell: /bin/bash, create_home: true, password_lock: true}
"""

RETURN = r"""
created:
  description: Groups and users created, as V(group:NAME) and V(user:NAME).
  returned: always
  type: list
  elements: str
changed_users:
  description: Existing users changed, each with the properties changed, as V(NAME:shell,groups).
  returned: always
  type: list
  elements: str
users:
  description:
    - Each user that exists after the call, by name; a user a check run would create is absent.
    - C(uid), C(gid), C(group) (the primary group's name), C(home) and C(shell).
  returned: always
  type: dict
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule

SHADOW = "/etc/shadow"


def find_group(name: str) -> grp.struct_group | None:
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def find_user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def memberships(name: str) -> set[str]:
    """The groups that list `name` as a member (its supplementary groups)."""
    return {group.gr_name for group in grp.getgrall() if name in group.gr_mem}


def password_locked(name: str) -> bool:
    """Whether the shadow entry of `name` starts with "!" (what usermod -L does)."""
    with open(SHADOW, encoding="utf-8") as shadow:
        for line in shadow:
            fields = line.split(":")
            if fields[0] == name:
                return len(fields) > 1 and fields[1].startswith("!")
    return False


def describe(name: str) -> dict:
    user = pwd.getpwnam(name)
    try:
        group = grp.getgrgid(user.pw_gid).gr_name
    except KeyError:
        group = str(user.pw_gid)
    return {
        "uid": user.pw_uid,
        "gid": user.pw_gid,
        "group": group,
        "home": user.pw_dir,
        "shell": user.pw_shell,
    }


def run(module: AnsibleModule, argv: list[str], result: dict) -> None:
    if module.check_mode:
        return
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"{' '.join(argv)} failed (rc {rc}): {(err or out).strip()}", **result)


def user_changes(spec: dict, user: pwd.struct_passwd) -> tuple[list[str], list[str]]:
    """usermod's options for what differs, and the names of the properties."""
    options: list[str] = []
    names: list[str] = []
    if spec["group"] is not None:
        wanted = find_group(spec["group"])
        if wanted is None or wanted.gr_gid != user.pw_gid:
            options += ["-g", spec["group"]]
            names.append("group")
    missing = sorted(set(spec["groups"]) - memberships(spec["name"]))
    if missing:
        options += ["-a", "-G", ",".join(missing)]
        names.append("groups")
    if spec["shell"] is not None and spec["shell"] != user.pw_shell:
        options += ["-s", spec["shell"]]
        names.append("shell")
    if spec["home"] is not None and spec["home"] != user.pw_dir:
        options += ["-d", spec["home"]]
        names.append("home")
    if spec["comment"] is not None and spec["comment"] != user.pw_gecos:
        options += ["-c", spec["comment"]]
        names.append("comment")
    if spec["password_lock"] and not password_locked(spec["name"]):
        options.append("-L")
        names.append("password_lock")
    return options, names


def useradd(spec: dict) -> list[str]:
    argv = ["useradd"]
    if spec["system"]:
        argv.append("--system")
    if spec["group"] is not None:
        argv += ["-g", spec["group"]]
    elif spec["system"]:
        argv.append("-U")  # --system alone would put the user in no group of its own
    if spec["groups"]:
        argv += ["-G", ",".join(spec["groups"])]
    if spec["shell"] is not None:
        argv += ["-s", spec["shell"]]
    if spec["home"] is not None:
        argv += ["-d", spec["home"]]
    if spec["comment"] is not None:
        argv += ["-c", spec["comment"]]
    argv.append("-m" if spec["create_home"] else "-M")
    return [*argv, spec["name"]]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "groups": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "system": {"type": "bool", "default": True},
                },
            },
            "users": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "group": {"type": "str"},
                    "groups": {"type": "list", "elements": "str", "default": []},
                    "system": {"type": "bool", "default": False},
                    "shell": {"type": "str"},
                    "home": {"type": "str"},
                    "create_home": {"type": "bool", "default": False},
                    "comment": {"type": "str"},
                    "password_lock": {"type": "bool", "default": False},
                },
            },
        },
        supports_check_mode=True,
    )
    result: dict = {"created": [], "changed_users": [], "users": {}}
    planned_groups: set[str] = set()
    for spec in module.params["groups"]:
        if find_group(spec["name"]) is None and spec["name"] not in planned_groups:
            planned_groups.add(spec["name"])
            result["created"].append(f"group:{spec['name']}")
            run(module, ["groupadd", *(["--system"] if spec["system"] else []), spec["name"]], result)
    for spec in module.params["users"]:
        named = [spec["group"]] if spec["group"] is not None else []
        unknown = [
            group
            for group in named + spec["groups"]
            if find_group(group) is None and group not in planned_groups
        ]
        if unknown:
            module.fail_json(
                msg=f"user {spec['name']}: no group {', '.join(unknown)} on the host (add it to groups)",
                **result,
            )
        user = find_user(spec["name"])
        if user is None:
            result["created"].append(f"user:{spec['name']}")
            run(module, useradd(spec), result)
            if spec["password_lock"] and not module.check_mode and not password_locked(spec["name"]):
                run(module, ["usermod", "-L", spec["name"]], result)
        else:
            options, names = user_changes(spec, user)
            if options:
                result["changed_users"].append(f"{spec['name']}:{','.join(names)}")
                run(module, ["usermod", *options, spec["name"]], result)
        if find_user(spec["name"]) is not None:
            result["users"][spec["name"]] = describe(spec["name"])
    module.exit_json(changed=bool(result["created"] or result["changed_users"]), **result)


if __name__ == "__main__":
    main()
