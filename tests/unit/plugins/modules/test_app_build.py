"""app_build: the example project built for real in one call (unpacked, its virtualenv
linked, settings written, checked, migrations listed, static files collected and
compressed, the record last), a release built already left alone, and a failure that
removes what it made."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from ansible_collections.djangoprod.stack.plugins.modules import app_build
from release_project import EXAMPLE, SECURE, run_module

RELEASE = "0123456789ab-cdef0123"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """An app directory, the example project packed, a runner that runs this Python in the
    release (as the app's runner does, without its sandbox), and brotli standing in for
    Debian's (not on every controller; the test hosts compress for real)."""
    root = tmp_path / "srv"
    for name in ("releases", "venvs", "collected"):
        (root / name).mkdir(parents=True)
    archive = tmp_path / "code.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(EXAMPLE, arcname=".", filter=lambda i: None if "__pycache__" in i.name else i)
    runner = tmp_path / "run"
    runner.write_text(
        f'#!/bin/sh\nrelease=$1\nshift\ncd "$release" && '
        f'DJANGO_SETTINGS_MODULE=djangoprod_settings exec {sys.executable} "$@"\n'
    )
    runner.chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "brotli").write_text(
        '#!/bin/sh\nfor f; do case "$f" in -*) ;; *) cp "$f" "$f.br";; esac; done\n'
    )
    (tools / "brotli").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    return root, archive, runner


def settings(root: Path, release: str = RELEASE, extra: str = "") -> str:
    return (
        SECURE
        + textwrap.dedent(
            f"""
        STATIC_ROOT = "{root}/collected/{release}"
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "{root}/db.sqlite3"}}}}
        """
        )
        + extra
    )


def build(capsys, layout, **more) -> dict:
    root, archive, runner = layout
    args = {
        "root": str(root),
        "release": RELEASE,
        "archive": str(archive),
        "user": "root",
        "group": "root",
        "runner": [str(runner)],
        "python": sys.executable,
        "files": {"djangoprod_settings.py": settings(root)},
        "settings_file": "djangoprod_settings.py",
        "record": {"built_by": "tester"},
        **more,
    }
    return run_module(app_build, capsys, **args)


def reuse_a_virtualenv(layout) -> None:
    """The virtualenv of the example's dependencies, as if an earlier release built it."""
    root = layout[0]
    project = root / "probe"
    project.mkdir()
    (project / "requirements.txt").write_text((EXAMPLE / "requirements.txt").read_text())
    params = {"requirements_file": "", "python": sys.executable, "packages": [], "index_environment": {}}

    class Runner:  # what dependencies() asks of the module: run the interpreter
        def run_command(self, argv, **_):
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            return done.returncode, done.stdout, done.stderr

    key = app_build.dependencies(Runner(), str(project), params)["key"]
    (root / "venvs" / key).mkdir()
    (root / "venvs" / key / ".djangoprod-complete").write_text("earlier\n")


def test_a_release_is_built_checked_and_collected_in_one_call(capsys, layout):
    root = layout[0]
    reuse_a_virtualenv(layout)
    result = build(capsys, layout)
    assert result["built"] and result["changed"] and result["venv_reused"], result
    release = root / "releases" / RELEASE
    record = json.loads((release / ".djangoprod-release.json").read_text())
    assert record["id"] == RELEASE and record["built_by"] == "tester"
    assert record["server_module"] == "guestbook.wsgi:application"
    assert (release / "venv").resolve() == (root / "venvs" / record["venv"]).resolve()
    assert (release / "djangoprod_settings.py").stat().st_mode & 0o777 == 0o640
    assert "entries.0001_initial" in result["pending"]  # a fresh database lacks them all
    collected = root / "collected" / RELEASE
    css = collected / "entries" / "site.css"
    assert gzip.decompress(Path(f"{css}.gz").read_bytes()) == css.read_bytes()
    assert Path(f"{css}.br").exists()
    # built already: nothing is done again
    again = build(capsys, layout)
    assert not again["built"] and not again["changed"] and again["record"]["id"] == RELEASE


def test_the_secrets_are_written_first_and_only_when_they_differ(capsys, layout, tmp_path):
    reuse_a_virtualenv(layout)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    files = {"secret_key": "hunter2-hunter2\n", "environment": "A=1\n"}
    first = build(capsys, layout, secrets_directory=str(secrets), secrets=files)
    assert first["built"] and first["secrets_changed"] == ["environment", "secret_key"], first
    assert (secrets / "secret_key").read_text() == "hunter2-hunter2\n"
    assert stat.S_IMODE((secrets / "environment").stat().st_mode) == 0o600
    assert "hunter2" not in json.dumps(first)
    # the release built already: a changed environment is still written, and said
    again = build(capsys, layout, secrets_directory=str(secrets), secrets={**files, "environment": "A=2\n"})
    assert again["changed"] and not again["built"] and again["secrets_changed"] == ["environment"], again
    same = build(capsys, layout, secrets_directory=str(secrets), secrets={**files, "environment": "A=2\n"})
    assert not same["changed"] and same["secrets_changed"] == []
    refused = build(capsys, layout, secrets_directory=str(secrets), secrets={"../key": "x"})
    assert refused["failed"] and "plain file names" in refused["msg"]
    assert refused["step"] == "Keep the secrets and the environment"


def test_a_release_that_fails_its_checks_is_removed_naming_the_step(capsys, layout):
    root = layout[0]
    reuse_a_virtualenv(layout)
    result = build(capsys, layout, files={"djangoprod_settings.py": settings(root, extra="DEBUG = True\n")})
    assert result["failed"] and "security.W018" in result["msg"], result
    assert result["step"] == "Check the release's settings and entry point (check --deploy)"
    assert not (root / "releases" / RELEASE).exists() and not (root / "collected" / RELEASE).exists()


def test_an_entry_point_that_cannot_load_fails_with_its_exception(capsys, layout):
    root = layout[0]
    reuse_a_virtualenv(layout)
    broken = settings(root, extra='WSGI_APPLICATION = "guestbook.nowhere.application"\n')
    result = build(capsys, layout, files={"djangoprod_settings.py": broken})
    assert result["failed"] and "No module named 'guestbook.nowhere'" in result["msg"], result["msg"]


def test_a_python_the_project_refuses_stops_before_any_install(capsys, layout, tmp_path):
    root, archive = layout[0], layout[1]
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\ndependencies = []\n')
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(project, arcname=".")
    result = build(capsys, layout)
    assert result["failed"] and "app_python_version" in result["msg"]
    assert 'Python >=3.99 (requires-python = ">=3.99" in pyproject.toml)' in result["msg"]
    assert result["step"] == "Check the project's Python"
    assert os.listdir(root / "venvs") == [] and not (root / "releases" / RELEASE).exists()


def test_check_mode_builds_nothing(capsys, layout):
    root = layout[0]
    result = build(capsys, layout, _ansible_check_mode=True)
    assert result["changed"] and not result["built"]
    assert os.listdir(root / "releases") == []


def test_only_new_and_changed_static_files_are_compressed(tmp_path, layout):
    """The running release's compressed copies are reused for the same content; a changed
    file, a new one, a small one and a symbolic link are told apart."""
    running, collected = tmp_path / "running", tmp_path / "collected"
    for top in (running, collected):
        (top / "app").mkdir(parents=True)
    body = "body { color: red; }\n" * 40
    for top in (running, collected):
        (top / "app" / "same.css").write_text(body)
    (running / "app" / "changed.js").write_text("let a = 1;\n" * 40)
    (collected / "app" / "changed.js").write_text("let a = 2;\n" * 40)
    (collected / "app" / "new.svg").write_text("<svg></svg>\n" * 40)
    (collected / "app" / "small.css").write_text("a{}\n")
    (collected / "app" / "image.png").write_bytes(b"\x89PNG" * 200)
    (collected / "app" / "link.css").symlink_to(running / "app" / "same.css")
    for ext in ("gz", "br"):
        (running / "app" / f"same.css.{ext}").write_text(f"the running release's {ext}")
        (running / "app" / f"changed.js.{ext}").write_text("stale")

    class Module:
        def run_command(self, argv, data=None, binary_data=False, cwd=None, **_):
            done = subprocess.run(argv, input=data, capture_output=True, cwd=cwd, check=False)
            return done.returncode, done.stdout.decode(), done.stderr.decode()

    counts = app_build.precompress(Module(), str(collected), str(running))
    assert counts == {"compressed": 2, "reused": 1}
    app = collected / "app"
    assert (app / "same.css.gz").read_text() == "the running release's gz"
    assert (app / "same.css.gz").stat().st_ino == (running / "app" / "same.css.gz").stat().st_ino
    assert gzip.decompress((app / "changed.js.gz").read_bytes()) == (app / "changed.js").read_bytes()
    assert (app / "new.svg.br").exists() and (app / "new.svg.gz").exists()
    assert not any((app / f"{name}.gz").exists() for name in ("small.css", "image.png", "link.css"))


class _Module:
    """What dependencies() uses of AnsibleModule: run_command and warn."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def run_command(self, argv, **_kwargs):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def warn(self, text: str) -> None:
        self.warnings.append(text)


@pytest.mark.parametrize(
    ("files", "warned"),
    [
        # Heroku's runtime.txt names another minor: said, not enforced
        ({"runtime.txt": "python-3.99.1\n", "requirements.txt": ""}, True),
        (
            {
                "runtime.txt": f"python-{sys.version_info[0]}.{sys.version_info[1]}.0\n",
                "requirements.txt": "",
            },
            False,
        ),
        # .python-version decides when both are there (and this one is satisfied)
        (
            {
                "runtime.txt": "python-3.99.1\n",
                ".python-version": f"{sys.version_info[0]}.{sys.version_info[1]}\n",
                "requirements.txt": "",
            },
            False,
        ),
    ],
)
def test_runtime_txt_names_a_python_without_enforcing_it(tmp_path, files, warned):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    module = _Module()
    params = {"python": sys.executable, "requirements_file": "", "packages": [], "index_environment": {}}
    found = app_build.dependencies(module, str(tmp_path), params)
    assert found["kind"] == "requirements"
    if warned:
        assert len(module.warnings) == 1 and "runtime.txt says python-3.99.1" in module.warnings[0]
        assert "set app_python_version" in module.warnings[0]
    else:
        assert module.warnings == []
