#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: a reproducible archive of a project directory, named by its content."""

from __future__ import annotations

DOCUMENTATION = r"""
module: source_archive
version_added: 0.1.0
short_description: A reproducible archive of a project directory, named by its content
description:
  - Packs a directory (a Django project on the controller) into a gzipped tar whose bytes
    depend only on the files' paths, contents and executable bits, never on times or
    owners, so the same code always gives the same archive and the same checksum.
  - The checksum names the release a deploy builds, so an unchanged project deploys nothing.
  - A directory inside a git work tree (and not ignored by it) is packed from what git
    would commit there, tracked files (as they are on disk) and untracked files that no
    C(.gitignore) rule ignores, so the project's own C(.gitignore) decides and nothing
    tracked is ever left out. O(exclude) then applies to the untracked files only (a stray
    C(.env) stays out).
  - Any other directory is packed whole, less O(exclude).
  - Runs on the controller, in Ansible's own process (an action plugin). No module is
    sent anywhere, whatever the task's host or C(delegate_to).
author: djangoprod.stack contributors (@djangoprod)
options:
  src:
    description: The directory to pack.
    type: path
    required: true
  dest_dir:
    description: Directory the archive is written to, as C(<checksum>.tar.gz).
    type: path
    required: true
  exclude:
    description:
      - Glob patterns of what is left out. A pattern starting with C(/) is anchored at the
        top of O(src) (V(/media) is the top-level C(media) directory, not every one); any
        other pattern matches a file or directory name at any depth, or a path relative
        to O(src).
      - In a git work tree, only untracked files are matched (tracked files are always packed).
    type: list
    elements: str
    default:
      - ".git"
      - ".hg"
      - ".svn"
      - "__pycache__"
      - "*.pyc"
      - ".venv"
      - "/venv"
      - "node_modules"
      - ".env"
      - "*.sqlite3"
      - "/media"
      - "/staticfiles"
      - ".tox"
      - ".mypy_cache"
      - ".pytest_cache"
attributes:
  check_mode:
    support: full
    description: In check mode the checksum is computed but no archive is written.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Pack the project
  djangoprod.stack.source_archive:
    src: "{{ playbook_dir }}/../shop"
    dest_dir: "{{ lookup('env', 'HOME') }}/.cache/djangoprod"
  delegate_to: localhost
  run_once: true
  register: archive
"""

RETURN = r"""
path:
  description: The archive.
  returned: success
  type: str
checksum:
  description: SHA-256 of the archive, hex.
  returned: success
  type: str
files:
  description: Number of files packed.
  returned: success
  type: int
"""

import fnmatch
import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

# A fixed time for every entry: a touched but unchanged file changes nothing.
_EPOCH = 315532800  # 1980-01-01


def excluded(relative: str, name: str, patterns: list[str]) -> bool:
    """Whether a pattern leaves this path out: `/x` only at the top, `x` at any depth."""
    for pattern in patterns:
        if pattern.startswith("/"):
            if fnmatch.fnmatch(relative, pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern):
            return True
    return False


def walk(src: str, patterns: list[str]) -> list[str]:
    """Relative paths of the files (and symlinks) of a plain directory, less `patterns`."""
    found = []
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root
        dirs[:] = [d for d in dirs if not excluded(os.path.join(rel_root, d), d, patterns)]
        # A symbolic link to a directory is packed as the link, not followed.
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            relative = os.path.join(rel_root, name)
            if not excluded(relative, name, patterns):
                found.append(relative)
    return found


def _git(src: str, *args: str) -> bytes | None:
    try:
        result = subprocess.run(["git", "-C", src, *args], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def git_files(src: str, patterns: list[str]) -> list[str] | None:
    """What git would commit under `src` (None when `src` is not in a git work tree):
    tracked files that are on disk, and untracked files no .gitignore rule ignores, less
    `patterns` for those untracked ones. Paths are relative to `src`."""
    if (_git(src, "rev-parse", "--is-inside-work-tree") or b"").strip() != b"true":
        return None
    tracked = _git(src, "ls-files", "-z", "--cached", "--", ".")
    untracked = _git(src, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    if tracked is None or untracked is None:
        return None
    # A directory the enclosing repository ignores (a copy under its build or cache
    # directory) is not that repository's: it is packed as a plain directory.
    if not tracked.strip(b"\0") and _git(src, "check-ignore", "-q", ".") is not None:
        return None
    found = []
    for raw in tracked.split(b"\0"):
        relative = os.fsdecode(raw)
        if relative and os.path.lexists(os.path.join(src, relative)):
            found.append(relative)
    for raw in untracked.split(b"\0"):
        relative = os.fsdecode(raw)
        if not relative:
            continue
        parts = relative.split("/")
        if any(excluded("/".join(parts[: i + 1]), part, patterns) for i, part in enumerate(parts)):
            continue
        found.append(relative)
    return found


def entries(src: str, patterns: list[str]) -> list[str]:
    """Relative paths to pack, sorted, each directory before what it holds."""
    files = git_files(src, patterns)
    if files is None:
        files = walk(src, patterns)
    paths = set(files)
    for relative in files:
        parent = os.path.dirname(relative)
        while parent and parent not in paths:
            paths.add(parent)
            parent = os.path.dirname(parent)
    return sorted(paths)


def _info(src: str, relative: str) -> tuple[tarfile.TarInfo, str | None]:
    path = os.path.join(src, relative)
    status = os.lstat(path)
    info = tarfile.TarInfo(relative)
    info.mtime = _EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISLNK(status.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        info.mode = 0o777
        return info, None
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        return info, None
    info.mode = 0o755 if status.st_mode & stat.S_IXUSR else 0o644
    info.size = status.st_size
    return info, path


def pack(src: str, patterns: list[str]) -> tuple[bytes, int]:
    """The archive's bytes and the number of regular files in it."""
    raw = io.BytesIO()
    count = 0
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in entries(src, patterns):
            info, path = _info(src, relative)
            if path is None:
                tar.addfile(info)
                continue
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
            count += 1
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue(), count


ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "dest_dir": {"type": "path", "required": True},
    "exclude": {
        "type": "list",
        "elements": "str",
        "default": [
            ".git",
            ".hg",
            ".svn",
            "__pycache__",
            "*.pyc",
            ".venv",
            "/venv",
            "node_modules",
            ".env",
            "*.sqlite3",
            "/media",
            "/staticfiles",
            ".tox",
            ".mypy_cache",
            ".pytest_cache",
        ],
    },
}


def archive(src: str, dest_dir: str, exclude: list[str], check_mode: bool) -> dict:
    """Pack src into dest_dir/<checksum>.tar.gz (not in check mode); the module's result.
    Raises ValueError with the message for the user. Also run in-process on the controller
    by the action plugin of the same name."""
    if not os.path.isdir(src):
        raise ValueError(f"src {src} is not a directory on the controller; set it to the project's directory")
    data, count = pack(src, exclude)
    if count == 0:
        raise ValueError(f"src {src} holds no files (after exclude)")
    checksum = hashlib.sha256(data).hexdigest()
    dest = os.path.join(dest_dir, f"{checksum}.tar.gz")
    changed = not os.path.exists(dest)
    if changed and not check_mode:
        os.makedirs(dest_dir, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".archive-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    return {"changed": changed, "path": dest, "checksum": checksum, "files": count}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        result = archive(params["src"], params["dest_dir"], params["exclude"], module.check_mode)
    except ValueError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
