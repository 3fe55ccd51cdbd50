# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root-only files holding secrets, written only when their content changes (secret_files,
and app_build for the release's environment)."""

from __future__ import annotations

import os
import tempfile


def read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def bad_names(files: dict) -> list[str]:
    """The names that are not plain file names."""
    return sorted(name for name in files if not name or "/" in name or name in (".", ".."))


def keep_files(
    module, directory: str, files: dict, owner: str, group: str, mode, check_mode: bool
) -> list[str]:
    """Write each file of `files` (name to content) in `directory` whose content or
    attributes differ, atomically; returns the names of those that changed (or would)."""
    changed_files = []
    for name in sorted(files):
        path = os.path.join(directory, name)
        content = str(files[name]).encode("utf-8")
        changed = read(path) != content
        if changed and not check_mode:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                module.atomic_move(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        if os.path.exists(path):
            file_args = module.load_file_common_arguments(
                {"path": path, "owner": owner, "group": group, "mode": mode}
            )
            changed = module.set_fs_attributes_if_different(file_args, changed)
        if changed:
            changed_files.append(name)
    return changed_files
