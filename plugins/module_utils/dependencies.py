# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a release declares its dependencies and its Python (app_dependencies, app_build)."""

from __future__ import annotations

import hashlib
import os
import re

try:
    import tomllib
except ImportError:  # Python < 3.11: only the formats that need no TOML
    tomllib = None

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


def python_wanted_from(path: str) -> tuple[str, str]:
    """The Python the project at `path` asks for, as a specifier, and where it says so."""
    pyproject = os.path.join(path, "pyproject.toml")
    if os.path.isfile(pyproject) and tomllib is not None:
        wanted = load_toml(pyproject).get("project", {}).get("requires-python", "")
        if wanted:
            return wanted, f'requires-python = "{wanted}" in pyproject.toml'
    pinned = os.path.join(path, ".python-version")
    if os.path.isfile(pinned):
        with open(pinned, encoding="utf-8") as handle:
            first = handle.readline().strip()
        if re.match(r"^(cpython-)?\d+(\.\d+){0,2}$", first):
            version = first.removeprefix("cpython-")
            return "==" + version + ("" if first.count(".") >= 2 else ".*"), f".python-version says {first}"
    return "", ""


def python_hinted(path: str) -> tuple[str, str]:
    """The Python a platform file of the project names without requiring it (Heroku's
    runtime.txt, python-3.12.4): the minor series as a specifier, and where it says so."""
    runtime = os.path.join(path, "runtime.txt")
    if os.path.isfile(runtime):
        with open(runtime, encoding="utf-8") as handle:
            first = handle.readline().strip()
        match = re.match(r"^python-(\d+\.\d+)(\.\d+)?$", first)
        if match:
            return f"=={match.group(1)}.*", f"runtime.txt says {first}"
    return "", ""


def checksum(path: str, files: list[str]) -> str:
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(path, relative), "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def declared(path: str, wanted: str) -> dict:
    """What the project at `path` declares: kind, file, the requirement lines to install
    (poetry and pyproject), and the checksum of every file that decides them."""
    kind, relative = find(path, wanted)
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
    return {"kind": kind, "file": relative, "requirements": requirements, "checksum": checksum(path, files)}


def python_refusal(wanted: str, shown: str, interpreter: str, where: str = "") -> str:
    """Why a release cannot run on this Python, and what to do."""
    where = where or "requires-python in pyproject.toml, or .python-version"
    return (
        f"The project asks for Python {wanted} ({where}) "
        f"and the release would run on Python {shown} ({interpreter}). "
        "Set app_python_version to a version that satisfies it (uv installs it, from "
        "app_python_install_mirror or app_python_downloads_json_url when the host cannot "
        "reach python-build-standalone's releases), deploy to a Debian release whose Python "
        "satisfies it, or widen the project's requirement."
    )
