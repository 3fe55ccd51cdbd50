#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: how a project declares its dependencies and its Python, read on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_dependencies
version_added: 0.2.0
short_description: How a project declares its dependencies and the Python it needs
description:
  - Finds the file that says what a release installs, in this order, unless O(file) names
    it; C(uv.lock) (installed exactly, through C(uv export --frozen)), C(poetry.lock) (its
    main group, pinned), C(requirements.txt) and the other C(requirements*.txt) files of
    production, then C(pyproject.toml) alone (its C([project] dependencies)).
  - Returns a checksum of everything that decides what gets installed, so a virtualenv can
    be reused while it stays the same.
  - Reads the Python the project asks for (C(requires-python) in C(pyproject.toml),
    C(.python-version)) and fails, naming both versions, when the interpreter virtualenvs
    are made from (O(python)) does not satisfy it.
  - Changes nothing; safe in check mode.
author: djangoprod.stack contributors (@djangoprod)
options:
  path:
    description: The project's top directory (where C(pyproject.toml) and the lockfiles sit).
    type: path
    required: true
  file:
    description: The dependencies file relative to O(path), instead of looking for one.
    type: str
    default: ""
  python:
    description: The interpreter the release's virtualenv is made from.
    type: path
    default: /usr/bin/python3
  check_python:
    description: Fail when O(python) does not satisfy the project's Python.
    type: bool
    default: true
extends_documentation_fragment:
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Read how the release declares its dependencies
  djangoprod.stack.app_dependencies:
    path: /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d
  register: deps
"""

RETURN = r"""
kind:
  description: V(uv), V(poetry), V(requirements) or V(pyproject).
  returned: success
  type: str
file:
  description: The file that was read, relative to O(path).
  returned: success
  type: str
checksum:
  description: SHA-256 over the files that decide what is installed.
  returned: success
  type: str
requirements:
  description: Requirement lines to install, for V(poetry) and V(pyproject) (empty for the others).
  returned: success
  type: list
  elements: str
python:
  description: The version of O(python).
  returned: success
  type: str
interpreter:
  description: O(python), the interpreter that was read.
  returned: success
  type: str
requires_python:
  description: What the project asks for (C(requires-python), then C(.python-version)), or empty.
  returned: success
  type: str
"""

import hashlib
import os
import re

try:
    import tomllib
except ImportError:  # Python < 3.11: only the formats that need no TOML
    tomllib = None

from ansible.module_utils.basic import AnsibleModule

REQUIREMENTS = [
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements-prod.txt",
    "requirements-production.txt",
    "requirements/base.txt",
]
_INCLUDE = re.compile(r"^\s*-(?:r|c|-requirement|-constraint)[=\s]+(\S+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find(path: str, wanted: str) -> tuple[str, str]:
    """(kind, file) for the project at `path`."""
    if wanted:
        if not os.path.isfile(os.path.join(path, wanted)):
            raise LookupError(f"app_requirements_file '{wanted}' is not in the release")
        base = os.path.basename(wanted)
        kinds = {"uv.lock": "uv", "poetry.lock": "poetry", "pyproject.toml": "pyproject"}
        kind = kinds.get(base, "requirements")
        return kind, wanted
    for name, kind in (("uv.lock", "uv"), ("poetry.lock", "poetry")):
        if os.path.isfile(os.path.join(path, name)):
            return kind, name
    for name in REQUIREMENTS:
        if os.path.isfile(os.path.join(path, name)):
            return "requirements", name
    if os.path.isfile(os.path.join(path, "pyproject.toml")):
        return "pyproject", "pyproject.toml"
    raise LookupError(
        "the release has no uv.lock, poetry.lock, requirements.txt (or requirements/production.txt) "
        "or pyproject.toml at its top: set app_requirements_file to the project's dependencies file"
    )


def included_files(path: str, relative: str, seen: set[str] | None = None) -> list[str]:
    """A requirements file and those it includes (-r, -c), relative to `path`."""
    seen = set() if seen is None else seen
    if relative in seen or not os.path.isfile(os.path.join(path, relative)):
        return []
    seen.add(relative)
    found = [relative]
    with open(os.path.join(path, relative), encoding="utf-8") as handle:
        for line in handle:
            match = _INCLUDE.match(line)
            if match:
                child = os.path.normpath(os.path.join(os.path.dirname(relative), match.group(1)))
                found += included_files(path, child, seen)
    return found


def load_toml(path: str) -> dict:
    if tomllib is None:
        raise LookupError("reading TOML needs Python 3.11 or later on the host")
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def poetry_requirements(lock: dict, pyproject: dict) -> list[str]:
    """Pinned requirement lines for the main group of a poetry.lock."""
    packages = {normalize(p["name"]): p for p in lock.get("package", [])}

    def marker_of(package: dict) -> str:
        markers = package.get("markers")
        if isinstance(markers, dict):
            markers = markers.get("main")
        return markers or ""

    if any("groups" in p or "category" in p for p in packages.values()):
        chosen = [
            p for p in packages.values() if "main" in p.get("groups", []) or p.get("category") == "main"
        ]
    else:
        # Older locks name no groups: walk the graph from the project's own dependencies.
        roots = list(pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}))
        declared = pyproject.get("project", {}).get("dependencies", [])
        roots += [re.split(r"[\s\[<>=!~;(@]", d, maxsplit=1)[0] for d in declared]
        todo = [normalize(name) for name in roots if normalize(name) != "python"]
        names: set[str] = set()
        while todo:
            name = todo.pop()
            if name in names or name not in packages:
                continue
            names.add(name)
            todo += [normalize(dep) for dep in packages[name].get("dependencies", {})]
        chosen = [packages[name] for name in sorted(names)]
    lines = []
    for package in sorted(chosen, key=lambda p: normalize(p["name"])):
        source = package.get("source") or {}
        if source.get("type") == "git":
            reference = source.get("resolved_reference") or source.get("reference")
            line = f"{package['name']} @ git+{source['url']}@{reference}"
        elif source.get("type") in ("directory", "file"):
            continue
        elif source.get("type") == "url":
            line = f"{package['name']} @ {source['url']}"
        else:
            line = f"{package['name']}=={package['version']}"
        marker = marker_of(package)
        lines.append(f"{line} ; {marker}" if marker else line)
    return lines


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def satisfies(version: tuple[int, ...], spec: str) -> bool:
    """Whether a Python version satisfies a PEP 440 specifier set (release numbers only)."""
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.match(r"^(~=|===|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*)(\.\*)?$", clause)
        if not match:
            raise ValueError(f"cannot read the Python requirement '{clause}'")
        op, number, wildcard = match.groups()
        wanted = _release(number)
        mine = version[: len(wanted)] if wildcard else version
        if op in ("==", "==="):
            ok = mine == wanted if wildcard else version[: len(wanted)] == wanted and len(wanted) >= 1
        elif op == "!=":
            ok = (mine if wildcard else version[: len(wanted)]) != wanted
        elif op == ">=":
            ok = version >= wanted
        elif op == "<=":
            ok = version[: len(wanted)] <= wanted
        elif op == ">":
            ok = version[: len(wanted)] > wanted
        elif op == "<":
            ok = version < wanted
        else:  # ~=
            prefix = wanted[:-1] if len(wanted) > 1 else wanted
            ok = version >= wanted and version[: len(prefix)] == prefix
        if not ok:
            return False
    return True


def python_wanted(path: str) -> str:
    pyproject = os.path.join(path, "pyproject.toml")
    if os.path.isfile(pyproject) and tomllib is not None:
        wanted = load_toml(pyproject).get("project", {}).get("requires-python", "")
        if wanted:
            return wanted
    pinned = os.path.join(path, ".python-version")
    if os.path.isfile(pinned):
        with open(pinned, encoding="utf-8") as handle:
            first = handle.readline().strip()
        if re.match(r"^(cpython-)?\d+(\.\d+){0,2}$", first):
            return "==" + first.removeprefix("cpython-") + ("" if first.count(".") >= 2 else ".*")
    return ""


def checksum(path: str, files: list[str]) -> str:
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(path, relative), "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "file": {"type": "str", "default": ""},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "check_python": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    path, interpreter = module.params["path"], module.params["python"]
    rc, out, err = 127, "", "not an executable file"
    if os.access(interpreter, os.X_OK):
        rc, out, err = module.run_command([interpreter, "-c", "import sys; print(*sys.version_info[:3])"])
    if rc != 0:
        module.fail_json(msg=f"The Python the release runs on, {interpreter}, does not start: {err.strip()}")
    version = tuple(int(part) for part in out.split())
    shown = ".".join(map(str, version))
    try:
        wanted = python_wanted(path)
        if module.params["check_python"] and wanted and not satisfies(version, wanted):
            module.fail_json(
                msg=(
                    f"The project asks for Python {wanted} (requires-python in pyproject.toml, or "
                    f".python-version) and the release would run on Python {shown} ({interpreter}). "
                    "Set app_python_version to a version that satisfies it (uv installs it, from "
                    "app_python_install_mirror or app_python_downloads_json_url when the host cannot "
                    "reach python-build-standalone's releases), deploy to a Debian release whose Python "
                    "satisfies it, or widen the project's requirement."
                ),
                python=shown,
                requires_python=wanted,
            )
        kind, relative = find(path, module.params["file"])
        requirements: list[str] = []
        files = [relative]
        if kind == "requirements":
            files = included_files(path, relative)
        elif kind == "uv":
            files = [relative, "pyproject.toml"]
        elif kind == "poetry":
            pyproject = os.path.join(path, "pyproject.toml")
            requirements = poetry_requirements(
                load_toml(os.path.join(path, relative)),
                load_toml(pyproject) if os.path.isfile(pyproject) else {},
            )
        elif kind == "pyproject":
            project = load_toml(os.path.join(path, relative)).get("project", {})
            requirements = list(project.get("dependencies", []))
        files = [f for f in files if os.path.isfile(os.path.join(path, f))]
    except (LookupError, ValueError, OSError) as error:
        module.fail_json(msg=f"Reading the project's dependencies failed: {error}")
    module.exit_json(
        changed=False,
        kind=kind,
        file=relative,
        checksum=checksum(path, files),
        requirements=requirements,
        python=shown,
        interpreter=interpreter,
        requires_python=wanted,
    )


if __name__ == "__main__":
    main()
