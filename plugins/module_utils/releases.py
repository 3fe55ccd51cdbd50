# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application's releases on a host: the layout the app role builds under its root
(app_release, app_serve)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time

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


def read_text(path: str) -> str | None:
    """A small file's text (a record the role keeps), None when it is not there."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(65536)
    except (FileNotFoundError, NotADirectoryError):
        return None


def info(root: str, read: list[str]) -> dict:
    """The releases under root: current, previous, every complete one by last use, the
    last 20 deploys and runs, and the text of each file of `read`."""
    return {
        "current": read_current(root),
        "previous": previous_release(root),
        "releases": by_last_use(root),
        "deploys": read_log(root)[-20:],
        "audit": read_log(root, "audit.log")[-20:],
        "files": {path: read_text(path) for path in read},
    }


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


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def switch_logged(root: str, release: str, by: str, reason: str) -> str | None:
    """Publish the release's static files, point `current` at it and log who did; returns
    the release `current` pointed to before."""
    before = read_current(root)
    publish_static(root, release)
    switch(root, release)
    append_log(root, {"at": now(), "by": by, "reason": reason, "from": before, "to": release})
    return before


def prune(root: str, keep: int, check_mode: bool = False) -> tuple[bool, dict]:
    """Keep the current release and the `keep` most recently used ones; returns (changed,
    what was removed, or would be)."""
    plan = prune_plan(root, keep)
    changed = bool(plan["releases"] or plan["venvs"] or plan["collected"])
    static: list[str] = []
    if not check_mode:
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
    removed = {"releases": plan["releases"], "venvs": plan["venvs"], "static_files": len(static)}
    return changed or bool(static), removed
