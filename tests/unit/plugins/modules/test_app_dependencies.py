"""app_dependencies: which file says what a release installs, and the Python it needs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.module_utils.dependencies import (
    poetry_requirements,
    satisfies,
)
from ansible_collections.djangoprod.stack.plugins.modules import app_dependencies

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
HERE = ".".join(map(str, sys.version_info[:3]))


def run(capsys, **args) -> dict:
    with patch_module_args({"python": sys.executable, **args}), pytest.raises(SystemExit):
        app_dependencies.main()
    return json.loads(capsys.readouterr().out)


def write(top: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        (top / relative).parent.mkdir(parents=True, exist_ok=True)
        (top / relative).write_text(content)
    return top


@pytest.mark.parametrize(
    ("files", "kind", "found"),
    [
        ({"uv.lock": "", "pyproject.toml": "", "requirements.txt": ""}, "uv", "uv.lock"),
        ({"poetry.lock": "", "requirements.txt": ""}, "poetry", "poetry.lock"),
        ({"requirements.txt": "", "pyproject.toml": ""}, "requirements", "requirements.txt"),
        (
            {"requirements/production.txt": "-r base.txt\n", "requirements/base.txt": "django\n"},
            "requirements",
            "requirements/production.txt",
        ),
        ({"pyproject.toml": '[project]\ndependencies = ["django>=5"]\n'}, "pyproject", "pyproject.toml"),
    ],
)
def test_the_lockfile_comes_first(tmp_path, capsys, files, kind, found):
    result = run(capsys, path=str(write(tmp_path, files)))
    assert (result["kind"], result["file"]) == (kind, found), result


def test_an_included_requirements_file_changes_the_checksum(tmp_path, capsys):
    write(
        tmp_path,
        {"requirements/production.txt": "-r base.txt\ngunicorn\n", "requirements/base.txt": "django\n"},
    )
    first = run(capsys, path=str(tmp_path))["checksum"]
    (tmp_path / "requirements/base.txt").write_text("django==5.2.1\n")
    assert run(capsys, path=str(tmp_path))["checksum"] != first


def test_pyproject_alone_gives_its_dependencies(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": '[project]\ndependencies = ["django>=5.2", "requests"]\n'})
    assert run(capsys, path=str(tmp_path))["requirements"] == ["django>=5.2", "requests"]


def test_nothing_to_install_from_is_refused_naming_the_variable(tmp_path, capsys):
    result = run(capsys, path=str(write(tmp_path, {"manage.py": ""})))
    assert result["failed"] and "app_requirements_file" in result["msg"]
    named = run(capsys, path=str(tmp_path), file="reqs/prod.txt")
    assert named["failed"] and "'reqs/prod.txt' is not in the release" in named["msg"]


def test_the_recipes_example_is_a_uv_project_that_this_python_satisfies(capsys):
    result = run(capsys, path=str(EXAMPLES / "recipes"))
    assert result["kind"] == "uv" and result["requires_python"] == ">=3.11"
    assert result["python"] == HERE


def test_a_python_the_project_refuses_stops_naming_both(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": '[project]\nrequires-python = ">=3.99"\n', "uv.lock": ""})
    result = run(capsys, path=str(tmp_path))
    assert result["failed"]
    # The file that asks, with what it says
    assert 'Python >=3.99 (requires-python = ">=3.99" in pyproject.toml)' in result["msg"]
    assert (
        f"run on Python {HERE} ({sys.executable})" in result["msg"] and "app_python_version" in result["msg"]
    )
    write(tmp_path, {"pyproject.toml": "[project]\n", ".python-version": "3.7\n"})
    pinned = run(capsys, path=str(tmp_path))
    assert pinned["failed"] and "Python ==3.7.* (.python-version says 3.7)" in pinned["msg"]


def test_the_python_named_is_the_one_read(tmp_path, capsys):
    """A uv-installed interpreter (app_python_version) is judged, not the one running the module."""
    other = tmp_path / "bin" / "python3.12"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho 3 12 1\n")
    other.chmod(0o755)
    pyproject = '[project]\nrequires-python = ">=3.12"\n'
    project = write(tmp_path / "project", {"pyproject.toml": pyproject, "uv.lock": ""})
    result = run(capsys, path=str(project), python=str(other))
    assert not result.get("failed"), result
    assert (result["python"], result["interpreter"]) == ("3.12.1", str(other))
    assert run(capsys, path=str(project))["failed"]


def test_a_python_that_does_not_start_is_named(tmp_path, capsys):
    result = run(capsys, path=str(write(tmp_path, {"requirements.txt": ""})), python=str(tmp_path / "nope"))
    assert result["failed"] and str(tmp_path / "nope") in result["msg"]


@pytest.mark.parametrize(
    ("spec", "ok"),
    [
        (">=3.11", True),
        (">=3.12", False),
        (">=3.10,<3.12", True),
        ("<3.11", False),
        ("~=3.11", True),
        ("~=3.11.9", False),
        ("==3.11.*", True),
        ("==3.12.*", False),
        ("!=3.11.*", False),
        ("<=3.11", True),
        (">3.11", False),
        (">3.10", True),
    ],
)
def test_python_specifiers(spec, ok):
    assert satisfies((3, 11, 7), spec) is ok


def test_poetry_main_group_with_markers_and_git_sources():
    lock = {
        "package": [
            {"name": "Django", "version": "5.2.1", "groups": ["main"]},
            {"name": "pytest", "version": "8.0.0", "groups": ["dev"]},
            {
                "name": "tzdata",
                "version": "2025.1",
                "groups": ["main"],
                "markers": {"main": 'sys_platform == "win32"'},
            },
            {
                "name": "lib",
                "version": "1.0",
                "groups": ["main"],
                "source": {
                    "type": "git",
                    "url": "https://example.com/lib.git",
                    "resolved_reference": "abc123",
                },
            },
        ]
    }
    assert poetry_requirements(lock, {}) == [
        "Django==5.2.1",
        "lib @ git+https://example.com/lib.git@abc123",
        'tzdata==2025.1 ; sys_platform == "win32"',
    ]


def test_poetry_lock_without_groups_walks_from_the_project_dependencies():
    lock = {
        "package": [
            {"name": "django", "version": "5.2.1", "dependencies": {"asgiref": ">=3.8", "sqlparse": "*"}},
            {"name": "asgiref", "version": "3.8.1"},
            {"name": "sqlparse", "version": "0.5.0"},
            {"name": "pytest", "version": "8.0.0", "dependencies": {"pluggy": "*"}},
            {"name": "pluggy", "version": "1.5.0"},
        ]
    }
    pyproject = {"tool": {"poetry": {"dependencies": {"python": "^3.11", "Django": "^5.2"}}}}
    assert poetry_requirements(lock, pyproject) == ["asgiref==3.8.1", "django==5.2.1", "sqlparse==0.5.0"]
