#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: directories, files and links of a role, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
version_added: 0.3.0
short_description: Directories, files and links of a role, converged in one call
description:
  - Makes each entry of O(files) what it says, in the order given, in one module call
    (where M(ansible.builtin.file), M(ansible.builtin.copy) and M(ansible.builtin.template)
    take one or two calls per path). Roles render their templates on the controller with
    the C(template) lookup and pass the text as O(files[].content).
  - A file is replaced atomically, and only when its content differs; owner, group and
    mode are set when they differ. A symbolic link at a file's path is replaced by the
    file, never followed.
  - Reports which paths changed (RV(changed_paths)), and with C(--diff) the old and new
    content of each changed file.
  - The content is not written to the host's journal (only the paths are). Use C(no_log)
    on the task for content that must not show in the diff or the output.
author: djangoprod.stack contributors (@djangoprod)
options:
  files:
    description: The directories, files and links, converged in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The absolute path.
        type: path
        required: true
      state:
        description:
          - V(file) holds exactly O(files[].content); V(directory) exists (with its
            parents); V(link) is a symbolic link to O(files[].src); V(absent) is removed
            (a directory with everything in it).
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description:
          - The content of a V(file), as it is written (add the final newline).
          - Without it, only the owner, group and mode of an existing file are set.
        type: str
      settings:
        description:
          - For a V(file) of C(KEY value) lines (such as C(/etc/login.defs)) - the keys
            set to these values, the rest of the file kept. The first active line of each
            key is rewritten, and a key with no active line is added at the end. Not with
            O(files[].content).
        type: dict
      separator:
        description: What stands between a key and its value in O(files[].settings) (V(=) in shell files).
        type: str
        default: " "
      src:
        description: The target of a V(link) (a relative one is relative to the link's directory).
        type: str
      require_src:
        description:
          - For a V(link), fail before anything of the call changes when O(files[].src) does
            not exist (such as a time zone's file that a mistyped zone names).
        type: bool
        default: false
      owner:
        description: The owner.
        type: str
        default: root
      group:
        description: The group.
        type: str
        default: root
      mode:
        description: The permissions; V(0644) for a file and V(0755) for a directory when not given.
        type: raw
      follow:
        description:
          - When the path of a V(file) is a symbolic link, write the file it points to
            (such as a distribution's link to another configuration file) instead of
            replacing the link.
        type: bool
        default: false
      secret:
        description:
          - The content holds a secret (a password in a configuration file) - it shows in
            no diff, and anywhere in the output it is masked.
        type: bool
        default: false
      managed:
        description: V(false) leaves the path alone (an entry a role writes only when a setting is on).
        type: bool
        default: true
      validate:
        description:
          - A command run on the new content before it replaces a file, with C(%s) for
            the path of a temporary copy; the file is left as it was when it fails.
        type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change, and writes nothing.
  diff_mode:
    support: full
    description: The old and new content of each changed file; the old and new state of other paths.
"""

EXAMPLES = r"""
- name: Write the web server's configuration
  djangoprod.stack.files:
    files:
      - path: /etc/nginx/snippets
        state: directory
      - path: /etc/nginx/nginx.conf
        content: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') }}"
        validate: nginx -t -c %s
      - path: /etc/nginx/sites-enabled/default
        state: absent
  notify: Reload nginx
"""

RETURN = r"""
changed_paths:
  description: The paths created, written, changed or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

# A file's diff shows its text up to this size; a larger one is named only.
DIFF_LIMIT = 100_000


class FilesModule(AnsibleModule):
    def _log_invocation(self) -> None:
        # The paths only: the content of configuration files does not belong in the journal.
        paths = " ".join(str(entry.get("path")) for entry in self.params["files"])
        self.log(f"Invoked with files={paths}", log_args={"files": paths})


def read_regular(path: str) -> bytes | None:
    """The content of a regular file at `path` (not through a link), or None."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    with open(path, "rb") as handle:
        return handle.read()


def text(data: bytes | None) -> str:
    if data is None:
        return ""
    if len(data) > DIFF_LIMIT:
        return f"({len(data)} bytes)\n"
    return data.decode("utf-8", errors="replace")


def state_of(path: str) -> str:
    if os.path.islink(path):
        return "link"
    if os.path.isdir(path):
        return "directory"
    return "file" if os.path.lexists(path) else "absent"


def attributes(entry: dict, default_mode: str | None) -> dict:
    mode = entry.get("mode")
    return {
        "path": entry["path"],
        "owner": entry.get("owner") or "root",
        "group": entry.get("group") or "root",
        "mode": default_mode if mode is None else mode,
        "secontext": [None, None, None],
        "attributes": None,
    }


def validate(module: AnsibleModule, entry: dict, temporary: str) -> None:
    command = entry["validate"]
    if "%s" not in command:
        module.fail_json(msg=f"validate for {entry['path']} must contain %s (the file to check): {command}")
    rc, out, err = module.run_command(shlex.split(command.replace("%s", shlex.quote(temporary))))
    if rc != 0:
        module.fail_json(
            msg=f"{entry['path']} was left as it was: the new content fails {command!r}: "
            f"{(err or out).strip()[-1500:]}",
            path=entry["path"],
            rc=rc,
        )


def write(module: AnsibleModule, entry: dict, data: bytes) -> None:
    path = entry["path"]
    directory = os.path.dirname(path) or "/"
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        module.set_fs_attributes_if_different(attributes({**entry, "path": temporary}, "0644"), True)
        if entry.get("validate"):
            validate(module, entry, temporary)
        if os.path.isdir(path) and not os.path.islink(path):
            module.fail_json(msg=f"{path} is a directory; it cannot become a file")
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def with_settings(old: bytes | None, settings: dict, separator: str = " ") -> bytes:
    """`old` with each KEY's first active `KEY value` line set, and missing keys added."""
    lines = (old or b"").decode("utf-8").splitlines()
    for key, value in settings.items():
        line = f"{key}{separator}{value}"
        after = r"(\s|$)" if not separator.strip() else rf"\s*{re.escape(separator.strip())}"
        pattern = re.compile(rf"^\s*{re.escape(key)}{after}")
        for index, current in enumerate(lines):
            if pattern.match(current):
                lines[index] = line
                break
        else:
            lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def converge(module: AnsibleModule, entry: dict) -> tuple[bool, dict | None]:
    path, wanted = entry["path"], entry.get("state") or "file"
    check = module.check_mode
    before = state_of(path)
    changed, diff = False, None
    if wanted == "absent":
        if before != "absent":
            changed, diff = True, {"before": {"path": path, "state": before}, "after": {"state": "absent"}}
            if not check:
                if before == "directory":
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        return changed, diff
    if wanted == "directory":
        if before != "directory":
            if before != "absent":
                module.fail_json(msg=f"{path} is a {before}; it cannot become a directory")
            changed = True
            diff = {"before": {"path": path, "state": "absent"}, "after": {"state": "directory"}}
            if not check:
                os.makedirs(path)
        if os.path.isdir(path):
            changed = module.set_fs_attributes_if_different(attributes(entry, "0755"), changed)
        return changed, diff
    if wanted == "link":
        if entry.get("src") is None:
            module.fail_json(msg=f"{path}: state=link needs src")
        current = os.readlink(path) if before == "link" else None
        if current != entry["src"]:
            if before == "directory":
                module.fail_json(msg=f"{path} is a directory; it cannot become a link")
            changed = True
            diff = {"before": {"path": path, "src": current}, "after": {"src": entry["src"]}}
            if not check:
                temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.link")
                if os.path.lexists(temporary):
                    os.unlink(temporary)
                os.symlink(entry["src"], temporary)
                os.replace(temporary, path)
        # The link's own owner (AnsibleModule's helpers would count a link to a file not
        # there yet as a change in check mode).
        if os.path.islink(path):
            owner, group = entry.get("owner") or "root", entry.get("group") or "root"
            uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
            found = os.lstat(path)
            if (found.st_uid, found.st_gid) != (uid, gid):
                changed = True
                if not check:
                    os.lchown(path, uid, gid)
        return changed, diff
    if entry.get("settings"):
        if entry.get("content") is not None:
            module.fail_json(msg=f"{path}: give content or settings, not both")
        if before != "file":
            module.fail_json(msg=f"{path} is not a file: settings change an existing file")
        data = with_settings(read_regular(path), entry["settings"], entry["separator"])
        entry = {**entry, "content": data.decode("utf-8")}
    if entry.get("content") is None:
        if before != "file":
            module.fail_json(msg=f"{path} is not a file, and no content was given to write")
        return module.set_fs_attributes_if_different(attributes(entry, None), False), None
    data = entry["content"].encode("utf-8")
    old = read_regular(path)
    if old != data or before != "file":
        changed = True
        diff = {"before_header": path, "after_header": path, "before": text(old), "after": text(data)}
        if not check:
            if not os.path.isdir(os.path.dirname(path) or "/"):
                module.fail_json(msg=f"the directory of {path} does not exist; create it first")
            write(module, entry, data)
    if os.path.lexists(path):
        changed = module.set_fs_attributes_if_different(attributes(entry, "0644"), changed)
    return changed, diff


def main() -> None:
    module = FilesModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {
                        "type": "str",
                        "default": "file",
                        "choices": ["file", "directory", "link", "absent"],
                    },
                    "content": {"type": "str"},
                    "settings": {"type": "dict"},
                    "separator": {"type": "str", "default": " "},
                    "src": {"type": "str"},
                    "require_src": {"type": "bool", "default": False},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "raw"},
                    "follow": {"type": "bool", "default": False},
                    "managed": {"type": "bool", "default": True},
                    "secret": {"type": "bool", "default": False},
                    "validate": {"type": "str"},
                },
            },
        },
        supports_check_mode=True,
    )
    changed_paths, diffs = [], []
    for entry in module.params["files"]:
        if entry["secret"] and entry.get("content"):
            module.no_log_values.add(entry["content"])
    for entry in module.params["files"]:
        if entry["managed"] and entry["require_src"] and entry.get("src") is not None:
            target = os.path.join(os.path.dirname(entry["path"]), entry["src"])
            if not os.path.exists(target):
                module.fail_json(msg=f"{entry['path']}: the link's target {entry['src']} does not exist")
    for entry in module.params["files"]:
        if not entry["managed"]:
            continue
        if not os.path.isabs(entry["path"]):
            module.fail_json(msg=f"paths must be absolute, got {entry['path']}")
        if entry["follow"] and (entry.get("state") or "file") == "file" and os.path.islink(entry["path"]):
            entry = {**entry, "path": os.path.realpath(entry["path"])}
        changed, diff = converge(module, entry)
        if changed:
            changed_paths.append(entry["path"])
        if diff and module._diff:
            diffs.append(
                {"before_header": entry["path"], "after_header": entry["path"]} if entry["secret"] else diff
            )
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
