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
  - Run it on the controller (with C(delegate_to) V(localhost)).
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
      - Glob patterns of names left out, matched against each file or directory name and
        against its path relative to O(src).
    type: list
    elements: str
    default:
      - ".git"
      - ".hg"
      - ".svn"
      - "__pycache__"
      - "*.pyc"
      - ".venv"
      - "venv"
      - "node_modules"
      - ".env"
      - "*.sqlite3"
      - "media"
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
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

# A fixed time for every entry: a touched but unchanged file changes nothing.
_EPOCH = 315532800  # 1980-01-01


def excluded(relative: str, name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def entries(src: str, patterns: list[str]) -> list[str]:
    """Relative paths to pack, sorted, directories before what they hold."""
    found = []
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root
        dirs[:] = sorted(d for d in dirs if not excluded(os.path.join(rel_root, d), d, patterns))
        for name in dirs + sorted(files):
            relative = os.path.join(rel_root, name)
            if name in files and excluded(relative, name, patterns):
                continue
            found.append(relative)
    return sorted(found)


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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
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
                    "venv",
                    "node_modules",
                    ".env",
                    "*.sqlite3",
                    "media",
                    ".tox",
                    ".mypy_cache",
                    ".pytest_cache",
                ],
            },
        },
        supports_check_mode=True,
    )
    src = module.params["src"]
    if not os.path.isdir(src):
        module.fail_json(
            msg=f"src {src} is not a directory on the controller; set it to the project's directory"
        )
    data, count = pack(src, module.params["exclude"])
    if count == 0:
        module.fail_json(msg=f"src {src} holds no files (after exclude)")
    checksum = hashlib.sha256(data).hexdigest()
    dest = os.path.join(module.params["dest_dir"], f"{checksum}.tar.gz")
    changed = not os.path.exists(dest)
    if changed and not module.check_mode:
        os.makedirs(module.params["dest_dir"], mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=module.params["dest_dir"], prefix=".archive-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    module.exit_json(changed=changed, path=dest, checksum=checksum, files=count)


if __name__ == "__main__":
    main()
