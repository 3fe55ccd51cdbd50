#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: build a release on the host in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_build
version_added: 0.3.0
short_description: Build, check and collect a release on the host in one call
description:
  - Writes O(secrets) into O(secrets_directory) first, when given (the app's environment,
    its secret key and passwords, which the release's processes read), built release or
    not; only the files whose content or attributes differ, root's and readable by root alone.
  - Builds release O(release) under O(root) (C(releases/<id>/)), unless it is built already
    (it has its record), in this order; any failure removes what it made and says why, the
    running release untouched.
  - Unpacks the code (O(archive), which the action plugin copies from the controller, or
    commit O(git_commit) of the repository O(git_repository)).
  - Reads how the project declares its dependencies and its Python, and links the release
    to the virtualenv of those dependencies, built once (C(venvs/<key>/)) with uv or pip and
    reused by every release whose dependencies are the same. A failed build of a dependency
    from source names the Debian package the host most likely lacks.
  - Writes O(files) (the generated settings and the modules they name) into the project.
  - Runs one Python process of the release, through O(runner); the settings load, the system
    checks (with the deployment checks), the entry point the server will load is found and
    imported, the migrations the database lacks are listed and the static files collected
    into C(collected/<id>/). Issues at or above O(fail_level), or Django's own deployment
    warnings (O(fatal_prefixes)), stop the release.
  - One build at a time per application on the host; a second one waits for the first
    (a build whose controller was killed goes on on the host).
  - Makes the collected files root's, precompresses them (gzip and brotli, reusing the
    running release's copies of unchanged files) and writes the release's record last (a
    release with a record is complete).
  - Use it through its action plugin, which copies O(archive) from the controller.
author: djangoprod.stack contributors (@djangoprod)
options:
  root:
    description: The application's directory (C(/srv/<app>)).
    type: path
    required: true
  release:
    description: The release's id, its directory under C(releases/).
    type: str
    required: true
  archive:
    description: The code as a C(.tar.gz) on the host (the action plugin puts it there).
    type: path
  git_repository:
    description: A clone on the host to export O(git_commit) from, instead of O(archive).
    type: path
  git_commit:
    description: The commit to export from O(git_repository).
    type: str
  project_subdir:
    description: Where C(manage.py) sits in the code (empty for the top).
    type: str
    default: ""
  files:
    description: Files written into the project directory (relative name to content), readable by O(group).
    type: dict
    default: {}
  secrets_directory:
    description: The directory O(secrets) are written in (it must exist).
    type: path
  secrets:
    description:
      - File name to content, written in O(secrets_directory) as M(djangoprod.stack.secret_files)
        writes them (mode 0600, root's), before the build; never shown.
    type: dict
    default: {}
  user:
    description: The app's user (it runs the release's Python and collects the static files).
    type: str
    required: true
  group:
    description: The app's group (it may read the code).
    type: str
    required: true
  requirements_file:
    description:
      - The dependencies file; empty to find it (C(uv.lock), C(poetry.lock), C(requirements*.txt),
        C(pyproject.toml)).
    type: str
    default: ""
  python:
    description: The interpreter virtualenvs are made from.
    type: path
    default: /usr/bin/python3
  packages:
    description: More requirement lines every virtualenv gets (the stack's own, gunicorn and the drivers).
    type: list
    elements: str
    default: []
  uv:
    description: The uv binary (else the one on C(PATH), if any); a project locked with uv needs it.
    type: str
    default: ""
  installer:
    description: V(auto) installs with uv when O(uv) is set, else with pip.
    type: str
    choices: [auto, uv, pip]
    default: auto
  index_environment:
    description: The environment pip and uv install with (the index, the CA bundle).
    type: dict
    default: {}
  build_user:
    description:
      - The user that creates the virtualenv and installs into it, in a transient systemd
        service with a sandbox - the new virtualenv, the release's code (local packages
        build in it) and O(build_cache) its only writable places, no local sockets, no
        privileges. The virtualenv and the code become root's again once built, with no
        group or other write.
      - Where systemd cannot apply its kernel-level options to a non-root user (a
        container without CAP_SYS_ADMIN under systemd 257), the module warns and uses a
        reduced sandbox - the build user, a read-only system, no home directories, a
        private /tmp, no privileges.
      - Empty installs as root (what the installed packages run while they build runs as
        root too).
    type: str
    default: ""
  build_cache:
    description: The build user's download and build cache (made its own, mode 0700).
    type: path
    default: /var/cache/djangoprod/build
  runner:
    description: The command that runs the release's Python as the app, before the release directory.
    type: list
    elements: str
    required: true
  settings_file:
    description:
      - The generated settings module's name in O(files), compiled first so a syntax error is named
        by line.
    type: str
    default: ""
  collectstatic:
    description: Collect the static files into C(collected/<id>/) and precompress them.
    type: bool
    default: true
  record:
    description: More fields for the release's record (where the code came from, who built it).
    type: dict
    default: {}
extends_documentation_fragment:
  - djangoprod.stack.release_checks
attributes:
  check_mode:
    support: full
    description: Says whether the release would be built, and builds nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Build, check and collect the release
  djangoprod.stack.app_build:
    root: /srv/shop
    release: 4f2a9c1e07b3-1a2b3c4d
    archive: /home/deploy/.cache/djangoprod/archives/4f2a9c1e07b3.tar.gz
    user: shop
    group: shop
    runner: [/usr/local/libexec/djangoprod/shop-run]
    files:
      djangoprod_settings.py: "{{ lookup('template', 'settings.py.j2') }}"
    settings_file: djangoprod_settings.py
"""

RETURN = r"""
secrets_changed:
  description: The names of the O(secrets) files written (or that would be).
  returned: always
  type: list
  elements: str
built:
  description: Whether this run built the release (false when it was built already).
  returned: always
  type: bool
record:
  description: The release's record (id, dependencies, virtualenv, entry point, check warnings...).
  returned: always
  type: dict
pending:
  description: The migrations the database lacks (applied by the caller, once).
  returned: when built
  type: list
  elements: str
issues:
  description: The check issues that did not stop the release (shown as warnings).
  returned: when built
  type: list
  elements: dict
precompressed:
  description:
    - The static files compressed by this build (C(compressed)) and those whose compressed
      copies were taken from the running release because their content is the same (C(reused)).
  returned: when built
  type: dict
seconds:
  description: How long each step took.
  returned: when built
  type: dict
"""

import contextlib
import fcntl
import filecmp
import hashlib
import json
import os
import re
import shutil
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.checks import (
    _ORDER,
    BUILD_SNIPPET,
    compile_error,
    describe,
    failing,
)
from ansible_collections.djangoprod.stack.plugins.module_utils.dependencies import (
    declared,
    python_hinted,
    python_refusal,
    python_wanted_from,
    satisfies,
)
from ansible_collections.djangoprod.stack.plugins.module_utils.diagnostics import (
    index_hint,
    missing_package_hint,
)
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import parse_marked_json, tail
from ansible_collections.djangoprod.stack.plugins.module_utils.secrets import bad_names, keep_files

RECORD = ".djangoprod-release.json"
COMPLETE = ".djangoprod-complete"

# nginx serves these as they are (gzip_static, brotli_static). A file the running
# release has with the same content gets that release's copies (linked: made from it).
# What is worth compressing: text formats above 256 bytes (below that, the headers cost more).
COMPRESSIBLE = re.compile(r".*[.](css|js|mjs|map|json|svg|txt|xml|html|ico|wasm|webmanifest)$", re.I)
COMPRESSED = (".gz", ".br")
COMPRESSORS = (["gzip", "-9", "-n", "-k", "-f"], ["brotli", "-q", "11", "-k", "-f"])


def same_file(path: str, other: str) -> bool:
    try:
        return filecmp.cmp(path, other, shallow=False)
    except OSError:
        return False


def precompress(module: AnsibleModule, collected: str, running: str) -> dict:
    """Compressed copies (.gz, .br) beside every compressible static file of `collected`.
    A file the running release has too, with the same content, gets the running
    release's copies (hard links): only new and changed files are compressed, in
    parallel. Symbolic links are never followed nor compressed."""
    todo, reused = [], 0
    for directory, _dirs, names in os.walk(collected):
        for name in names:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size <= 256 or not COMPRESSIBLE.match(name):
                continue
            relative = os.path.relpath(path, collected)
            old = os.path.join(running, relative)
            if all(os.path.isfile(old + ext) for ext in COMPRESSED) and same_file(path, old):
                for ext in COMPRESSED:
                    try:
                        os.link(old + ext, path + ext)
                    except OSError:
                        shutil.copy2(old + ext, path + ext)
                reused += 1
            else:
                todo.append(relative)
    if todo:
        listed = "\0".join(todo).encode()
        for compressor in COMPRESSORS:
            argv = ["xargs", "-0", "-r", "-P", str(os.cpu_count() or 1), "-n", "16", *compressor]
            rc, out, err = module.run_command(argv, data=listed, binary_data=True, cwd=collected)
            if rc != 0:
                output = (err or "") + "\n" + (out or "")
                raise BuildError("precompress", tail(output, 1500), rc=rc, output=output)
    return {"compressed": len(todo), "reused": reused}


# The steps, as a failure names them.
STEPS = {
    "secrets": "Keep the secrets and the environment",
    "unpack": "Unpack the code",
    "python": "Check the project's Python",
    "dependencies": "Read the project's dependencies",
    "install": "Install the dependencies",
    "settings": "Write the production settings",
    "check": "Check the release's settings and entry point (check --deploy)",
    "precompress": "Precompress the static files",
}


class BuildError(Exception):
    def __init__(self, step: str, message: str, **details) -> None:
        super().__init__(message)
        self.step, self.details = step, details


def run(
    module: AnsibleModule, step: str, argv: list[str], env: dict | None = None, cwd: str | None = None
) -> str:
    rc, out, err = module.run_command(argv, environ_update=env or {}, cwd=cwd)
    if rc != 0:
        output = (err or "") + "\n" + (out or "")
        raise BuildError(step, tail(output, 1500), rc=rc, output=output)
    return out


def reclaim_tree(top: str, uid: int, gid: int) -> None:
    """Everything under `top` made `uid`:`gid`'s (symbolic links themselves, never their
    targets), with no group or other write and no set-id bits: what another user wrote
    there (the app's collected files, the build user's virtualenv) stays as it is, and
    that user can no longer change it."""

    def take(path: str) -> None:
        before = os.lstat(path)
        os.lchown(path, uid, gid)
        if not stat.S_ISLNK(before.st_mode):
            mode = stat.S_IMODE(before.st_mode)
            if mode & 0o6022:
                os.chmod(path, mode & ~0o6022)

    take(top)
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            take(os.path.join(directory, name))


def read_version(module: AnsibleModule, python: str) -> tuple[int, ...]:
    if not os.access(python, os.X_OK):
        raise BuildError("python", f"The Python the release runs on, {python}, is not an executable file")
    out = run(module, "python", [python, "-c", "import sys; print(*sys.version_info[:3])"])
    return tuple(int(part) for part in out.split())


def dependencies(module: AnsibleModule, project: str, params: dict) -> dict:
    """What the project declares (kind, file, requirement lines) and the virtualenv key."""
    version = read_version(module, params["python"])
    shown = ".".join(map(str, version))
    wanted, where = python_wanted_from(project)
    if wanted and not satisfies(version, wanted):
        raise BuildError("python", python_refusal(wanted, shown, params["python"], where))
    hinted, said = python_hinted(project) if not wanted else ("", "")
    if hinted and not satisfies(version, hinted):
        module.warn(
            f"The project names Python {hinted.removeprefix('==').removesuffix('.*')} ({said}) and the "
            f"release runs on Python {shown}: set app_python_version to run it on that one (uv installs "
            "it). Not enforced, as runtime.txt often names a version long past: .python-version or "
            "requires-python in pyproject.toml is."
        )
    found = declared(project, params["requirements_file"])
    inputs = [found["kind"], found["checksum"], params["packages"], params["index_environment"], shown]
    inputs.append(params["python"])
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return {
        **found,
        "python": shown,
        "interpreter": params["python"],
        "requires_python": wanted,
        "key": key,
    }


# The sandbox a release's dependencies are installed in: what they run while they build
# (setup.py, build backends) runs as the build user, who may write only the new
# virtualenv, the release's code and its own download cache, reach the package index
# but no local socket (the database's, the app's), and gain no privilege.
BUILD_SANDBOX = (
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "RestrictSUIDSGID=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "LockPersonality=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6",
    "SystemCallArchitectures=native",
    "UMask=0022",
)
# Where systemd cannot apply the kernel-level options to a non-root user (a container
# without CAP_SYS_ADMIN under systemd 257, Debian 13's, fails them all with "status
# 217/USER"): the build still runs as the build user, on a read-only system.
BUILD_SANDBOX_REDUCED = (
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "ProtectControlGroups=yes",
    "ProtectProc=invisible",
    "UMask=0022",
)


class Builder:
    """Runs the installer's commands as the build user inside BUILD_SANDBOX (a transient
    systemd service), or as root when no build user is given."""

    def __init__(self, module: AnsibleModule, params: dict, venv: str, project: str, env: dict) -> None:
        self.module, self.venv, self.project, self.env = module, venv, project, env
        self.user, self.cache = params["build_user"], params["build_cache"]
        self.unit = f"djangoprod-build-{params['user']}"
        self.env_file = ""
        self.sandboxing: tuple[str, ...] | None = None

    def __enter__(self) -> Builder:
        if not self.user:
            return self
        import pwd

        entry = pwd.getpwnam(self.user)
        os.makedirs(self.cache, mode=0o700, exist_ok=True)
        os.chown(self.cache, entry.pw_uid, entry.pw_gid)
        os.chown(self.venv, entry.pw_uid, entry.pw_gid)
        # Local packages (./libs/x in the requirements) build inside the code; it is
        # given back to root afterwards.
        self.owner = os.stat(self.project)
        reclaim_tree(self.project, entry.pw_uid, entry.pw_gid)
        # A build a killed run left going is stopped (the host's build lock is ours).
        self.module.run_command(["systemctl", "stop", f"{self.unit}.service"])
        self.module.run_command(["systemctl", "reset-failed", f"{self.unit}.service"])
        # The environment (an index URL may hold a token) goes in a root-only file that
        # systemd reads, never on a command line or in the unit's properties.
        os.makedirs("/run/djangoprod", mode=0o755, exist_ok=True)
        self.env_file = f"/run/djangoprod/{self.unit}.env"
        values = {**self.env, "HOME": self.cache, "XDG_CACHE_HOME": self.cache}
        values.update(PIP_CACHE_DIR=f"{self.cache}/pip", UV_CACHE_DIR=f"{self.cache}/uv")
        values.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        descriptor = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for key, value in values.items():
                text = str(value)
                if "\n" in text or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                    raise BuildError(
                        "install", f"The installer's environment variable {key!r} cannot be passed on"
                    )
                quoted = text.replace("\\", "\\\\").replace('"', '\\"')
                handle.write(f'{key}="{quoted}"\n')
        return self

    def __exit__(self, *_exc) -> None:
        if self.env_file:
            with contextlib.suppress(OSError):
                os.unlink(self.env_file)
        if self.user:
            reclaim_tree(self.project, 0, 0)
            os.chown(self.project, self.owner.st_uid, self.owner.st_gid)
            os.chmod(self.project, stat.S_IMODE(self.owner.st_mode))

    def sandbox(self) -> tuple[str, ...]:
        """The fullest sandbox this host's systemd applies (tried once, with /bin/true)."""
        if self.sandboxing is None:
            self.sandboxing = BUILD_SANDBOX
            rc, _out, _err = self.module.run_command(self.command(["/bin/true"], "/"))
            if rc != 0:
                self.sandboxing = BUILD_SANDBOX_REDUCED
                self.module.warn(
                    "systemd on this host cannot apply its kernel-level sandbox options to the build user "
                    "(a container without CAP_SYS_ADMIN?): the dependencies install as that user on a "
                    "read-only system, without the system call and socket restrictions."
                )
        return self.sandboxing

    def run(self, argv: list[str], cwd: str) -> str:
        if not self.user:
            return run(self.module, "install", argv, self.env, cwd=cwd)
        self.sandbox()
        return run(self.module, "install", self.command(argv, cwd))

    def command(self, argv: list[str], cwd: str) -> list[str]:
        group = self.module.params["group"]
        properties = [
            f"User={self.user}",
            f"Group={self.user}",
            # The release's code and the virtualenvs directory are the app group's to read.
            f"SupplementaryGroups={group}",
            f"WorkingDirectory={cwd}",
            f"EnvironmentFile={self.env_file}",
            f"ReadWritePaths={self.venv} {self.cache} {self.project}",
            *(self.sandboxing or BUILD_SANDBOX),
        ]
        command = ["systemd-run", "--quiet", "--pipe", "--wait", "--collect", "--service-type=exec"]
        return [*command, f"--unit={self.unit}", *(f"--property={item}" for item in properties), "--", *argv]


def build_venv(module: AnsibleModule, project: str, venv: str, deps: dict, params: dict) -> None:
    """The virtualenv of these dependencies, or a failure naming what a source build lacks."""
    env = dict(params["index_environment"])
    found = params["uv"] if params["uv"] and os.access(params["uv"], os.X_OK) else shutil.which("uv") or ""
    uv = found if params["installer"] != "pip" else ""
    if params["installer"] == "uv" and not uv:
        raise BuildError("install", "app_pip_installer is uv and uv is not on the host")
    if deps["kind"] == "uv" and not found:
        raise BuildError("install", "the project is locked with uv (uv.lock) and uv is not on the host")
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(venv, mode=0o755)
    try:
        with Builder(module, params, venv, project, env) as builder:
            build_steps(builder, project, venv, deps, params, uv, found)
        # Built: root's from now on, read-only to the build user and the app.
        reclaim_tree(venv, 0, 0)
    except BuildError as error:
        shutil.rmtree(venv, ignore_errors=True)
        if error.step != "install" or not error.details.get("output"):
            raise
        output = error.details.get("output", "")
        hint = index_hint(output) or missing_package_hint(output)
        raise BuildError(
            "install",
            f"Installing the dependencies ({deps['file']}) failed. {hint} The installer said: {error}",
        ) from None
    except OSError:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    with open(os.path.join(venv, COMPLETE), "w", encoding="utf-8") as handle:
        handle.write(params["release"] + "\n")


def build_steps(
    builder: Builder, project: str, venv: str, deps: dict, params: dict, uv: str, found: str
) -> None:
    """Create the virtualenv and install into it, each command through `builder`."""
    builder.run([params["python"], "-m", "venv", venv], project)
    if uv:
        install = [uv, "pip", "install", "--quiet", "--python", f"{venv}/bin/python"]
    else:
        install = [f"{venv}/bin/pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    if deps["kind"] == "uv":
        locked = f"{venv}/locked-requirements.txt"
        export = [found, "export", "--quiet", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"]
        builder.run(
            [*export, "--format", "requirements-txt", "--directory", project, "--output-file", locked],
            project,
        )
        install += ["-r", locked]
    elif deps["kind"] == "requirements":
        install += ["-r", os.path.join(project, deps["file"])]
    else:
        install += deps["requirements"]
    builder.run(install + params["packages"], project)


def unpack(module: AnsibleModule, release_dir: str, params: dict) -> None:
    if params["archive"]:
        run(module, "unpack", ["tar", "-xzf", params["archive"], "-C", release_dir, "--no-same-owner"])
    else:
        repository, commit = params["git_repository"], params["git_commit"]
        run(
            module,
            "unpack",
            [
                "bash",
                "-c",
                'set -o pipefail; git -C "$1" archive "$2" | tar -x -C "$3" --no-same-owner',
                "export",
                repository,
                commit,
                release_dir,
            ],
        )


def django_process(module: AnsibleModule, release_dir: str, collected: str, params: dict) -> dict:
    gate = {"rank": _ORDER.index(params["fail_level"]), "prefixes": params["fatal_prefixes"]}
    argv = [
        *params["runner"],
        release_dir,
        "-c",
        BUILD_SNIPPET,
        "1",
        params["interface"],
        params["server_module"],
        json.dumps(gate),
        "1" if params["collectstatic"] else "0",
    ]
    rc, out, err = module.run_command(argv, environ_update={"DJANGOPROD_WRITABLE": collected})
    try:
        result = parse_marked_json(out) if rc == 0 else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        raise BuildError(
            "check", f"The release's settings or application do not load (exit {rc}): {tail(err or out)}"
        )
    bad = failing(result["issues"], params["fail_level"], params["fatal_prefixes"])
    if bad:
        listed = "; ".join(describe(issue) for issue in bad)
        raise BuildError(
            "check", f"check --deploy reported {len(bad)} issue(s) that stop the release: {listed}"
        )
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "archive": {"type": "path"},
            "git_repository": {"type": "path"},
            "git_commit": {"type": "str"},
            "project_subdir": {"type": "str", "default": ""},
            # The settings hold app_settings values, which may be passwords; the index
            # environment may hold a token: neither is shown in -v's invocation.
            "files": {"type": "dict", "default": {}, "no_log": True},
            "secrets_directory": {"type": "path"},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "user": {"type": "str", "required": True},
            "group": {"type": "str", "required": True},
            "requirements_file": {"type": "str", "default": ""},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "packages": {"type": "list", "elements": "str", "default": []},
            "uv": {"type": "str", "default": ""},
            "installer": {"type": "str", "default": "auto", "choices": ["auto", "uv", "pip"]},
            "index_environment": {"type": "dict", "default": {}, "no_log": True},
            "build_user": {"type": "str", "default": ""},
            "build_cache": {"type": "path", "default": "/var/cache/djangoprod/build"},
            "runner": {"type": "list", "elements": "str", "required": True},
            "fail_level": {"type": "str", "default": "ERROR", "choices": _ORDER[::-1]},
            "fatal_prefixes": {"type": "list", "elements": "str", "default": ["security."]},
            "interface": {"type": "str", "default": "wsgi", "choices": ["wsgi", "asgi"]},
            "server_module": {"type": "str", "default": ""},
            "settings_file": {"type": "str", "default": ""},
            "collectstatic": {"type": "bool", "default": True},
            "record": {"type": "dict", "default": {}},
        },
        required_one_of=[("archive", "git_repository")],
        required_together=[("git_repository", "git_commit")],
        supports_check_mode=True,
    )
    params = module.params
    root, release = params["root"], params["release"]
    if "/" in release or release.startswith("."):
        module.fail_json(msg=f"release must be a directory name, got {release!r}")
    release_dir = os.path.join(root, "releases", release)
    collected = os.path.join(root, "collected", release)
    record_path = os.path.join(release_dir, RECORD)
    if not module.check_mode and os.path.isdir(root):
        # One build at a time on this host: a build of a run that was killed may still be
        # going on the host (its module outlives the controller); this one waits for it.
        building = open(  # noqa: SIM115  pylint: disable=consider-using-with
            os.path.join(root, ".build.lock"), "a", encoding="utf-8"
        )
        fcntl.flock(building, fcntl.LOCK_EX)
    secrets = params["secrets"]
    if secrets:
        bad = bad_names(secrets)
        missing = not params["secrets_directory"] or (
            not module.check_mode and not os.path.isdir(params["secrets_directory"])
        )
        if bad or missing:
            module.fail_json(
                msg="secrets must be plain file names in the existing directory "
                + f"{params['secrets_directory'] or '(secrets_directory is empty)'}"
                + (f", got {', '.join(bad)}" if bad else ""),
                step=STEPS["secrets"],
            )
    written = (
        keep_files(module, params["secrets_directory"], secrets, "root", "root", "0600", module.check_mode)
        if secrets
        else []
    )
    if os.path.isfile(record_path):
        with open(record_path, encoding="utf-8") as handle:
            module.exit_json(
                changed=bool(written), built=False, record=json.load(handle), secrets_changed=written
            )
    if module.check_mode:
        module.exit_json(changed=True, built=False, record={}, secrets_changed=written)

    import grp
    import pwd

    app_uid, app_gid = pwd.getpwnam(params["user"]).pw_uid, grp.getgrnam(params["group"]).gr_gid
    project = os.path.join(release_dir, params["project_subdir"]) if params["project_subdir"] else release_dir
    seconds: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        nonlocal started
        now = time.monotonic()
        seconds[name] = round(now - started, 2)
        started = now

    try:
        # What an earlier run left half built goes first.
        shutil.rmtree(release_dir, ignore_errors=True)
        shutil.rmtree(collected, ignore_errors=True)
        os.makedirs(release_dir, mode=0o750)
        os.chown(release_dir, 0, app_gid)
        unpack(module, release_dir, params)
        lap("unpack")

        deps = dependencies(module, release_dir, params)
        venv = os.path.join(root, "venvs", deps["key"])
        reused = os.path.isfile(os.path.join(venv, COMPLETE))
        if not reused:
            build_venv(module, release_dir, venv, deps, params)
        os.symlink(os.path.join("..", "..", "venvs", deps["key"]), os.path.join(release_dir, "venv"))
        lap("virtualenv")

        for relative, content in params["files"].items():
            path = os.path.join(project, relative)
            directory = project
            for part in os.path.dirname(relative).split("/") if os.path.dirname(relative) else []:
                directory = os.path.join(directory, part)
                if not os.path.isdir(directory):
                    os.mkdir(directory, mode=0o750)
                    os.chown(directory, 0, app_gid)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chown(path, 0, app_gid)
            os.chmod(path, 0o640)
        if params["settings_file"]:
            error = compile_error(os.path.join(project, params["settings_file"]))
            if error:
                raise BuildError("settings", f"The settings do not compile: {error}")

        os.makedirs(collected, mode=0o755)
        os.chown(collected, app_uid, app_gid)
        result = django_process(module, release_dir, collected, params)
        lap("django")

        # The app wrote the collected files; from now on they are root's, and only then
        # are they compressed next to themselves.
        reclaim_tree(collected, 0, 0)
        compressed = {}
        if params["collectstatic"]:
            current = os.path.join(root, "current")
            running = os.path.join(root, "collected", os.path.basename(os.path.realpath(current)))
            compressed = precompress(module, collected, running)
        lap("static")

        record = {
            **params["record"],
            "id": release,
            "venv": deps["key"],
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "server_module": result["server_module"],
            "check_warnings": [issue["id"] for issue in result["issues"]],
            "dependencies": deps["file"],
            "python": deps["python"],
            "python_packages": params["packages"],
        }
        with open(record_path + ".new", "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=4, sort_keys=True)
            handle.write("\n")
        os.chmod(record_path + ".new", 0o644)
        os.replace(record_path + ".new", record_path)
    except (BuildError, LookupError, ValueError, OSError) as error:
        shutil.rmtree(release_dir, ignore_errors=True)
        shutil.rmtree(collected, ignore_errors=True)
        step = error.step if isinstance(error, BuildError) else "dependencies"
        message = str(error) if isinstance(error, BuildError) else f"Reading the project failed: {error}"
        module.fail_json(msg=message, step=STEPS[step], seconds=seconds, secrets_changed=written)

    for issue in result["issues"]:
        module.warn(f"check --deploy: {describe(issue)}")
    module.exit_json(
        changed=True,
        built=True,
        record=record,
        pending=result.get("pending", []),
        issues=result["issues"],
        dependencies={k: v for k, v in deps.items() if k != "requirements"},
        venv_reused=reused,
        precompressed=compressed,
        seconds=seconds,
        secrets_changed=written,
    )


if __name__ == "__main__":
    main()
