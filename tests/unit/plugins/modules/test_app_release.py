from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import RECORD
from ansible_collections.djangoprod.stack.plugins.modules import app_release


def run(capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        app_release.main()
    return json.loads(capsys.readouterr().out)


def build(
    root: Path, release: str, venv: str, static: dict[str, str], built_at: str, legacy: bool = False
) -> None:
    """A release; its static files in collected/<id> (releases/<id>/static when legacy)."""
    directory = root / "releases" / release
    collected = directory / "static" if legacy else root / "collected" / release
    directory.mkdir(parents=True)
    collected.mkdir(parents=True)
    (root / "venvs" / venv).mkdir(parents=True, exist_ok=True)
    (directory / "venv").symlink_to(f"../../venvs/{venv}")
    for name, content in static.items():
        (collected / name).parent.mkdir(parents=True, exist_ok=True)
        (collected / name).write_text(content)
    (directory / RECORD).write_text(json.dumps({"id": release, "built_at": built_at}))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "shared" / "static").mkdir(parents=True)
    return tmp_path


def test_switch_publishes_static_links_and_logs(root, capsys):
    build(root, "r1", "v1", {"site.abc.css": "one", "site.css": "one"}, "2026-01-01T00:00:00Z")
    first = run(capsys, root=str(root), action="switch", release="r1", by="alice")
    assert first["changed"] and first["current"] == "r1" and first["previous"] is None
    assert os.readlink(root / "current") == "releases/r1"
    assert (root / "shared/static/site.abc.css").samefile(root / "collected/r1/site.abc.css")
    assert first["record"]["id"] == "r1"

    again = run(capsys, root=str(root), action="switch", release="r1", by="alice")
    assert not again["changed"]

    build(root, "r2", "v1", {"site.def.css": "two", "site.css": "two"}, "2026-01-02T00:00:00Z")
    second = run(capsys, root=str(root), action="switch", release="r2", by="bob")
    assert second["previous"] == "r1"
    # the old hashed file stays served, the unhashed name follows the new release
    assert (root / "shared/static/site.abc.css").read_text() == "one"
    assert (root / "shared/static/site.css").read_text() == "two"

    info = run(capsys, root=str(root))
    assert info["current"] == "r2" and info["previous"] == "r1"
    assert [r["id"] for r in info["releases"]] == ["r2", "r1"]
    assert [(d["by"], d["from"], d["to"]) for d in info["deploys"]] == [
        ("alice", None, "r1"),
        ("bob", "r1", "r2"),
    ]


def test_switch_refuses_an_incomplete_release(root, capsys):
    (root / "releases" / "half").mkdir(parents=True)
    result = run(capsys, root=str(root), action="switch", release="half")
    assert result["failed"] and "not a complete release" in result["msg"]
    assert not (root / "current").exists()


def test_switch_in_check_mode_changes_nothing(root, capsys):
    build(root, "r1", "v1", {}, "2026-01-01T00:00:00Z")
    result = run(capsys, root=str(root), action="switch", release="r1", _ansible_check_mode=True)
    assert result["changed"] and not (root / "current").exists() and not (root / "deploys.log").exists()


def test_prune_keeps_current_and_newest_and_what_they_use(root, capsys):
    for index in range(1, 5):
        build(
            root, f"r{index}", f"v{index % 2}", {f"f{index}.css": str(index)}, f"2026-01-0{index}T00:00:00Z"
        )
        run(capsys, root=str(root), action="switch", release=f"r{index}")
    # back to r2: it is current and the most recently used
    run(capsys, root=str(root), action="switch", release="r2", reason="rollback")
    (root / "releases" / "half-built").mkdir()

    preview = run(capsys, root=str(root), action="prune", keep=2, _ansible_check_mode=True)
    assert preview["changed"] and (root / "releases/r1").exists()

    result = run(capsys, root=str(root), action="prune", keep=2)
    assert sorted(result["removed"]["releases"]) == ["half-built", "r1", "r3"]
    assert sorted(os.listdir(root / "releases")) == ["r2", "r4"]
    assert result["removed"]["venvs"] == ["v1"]  # r1 and r3 used it; r2 and r4 use v0
    assert sorted(os.listdir(root / "shared/static")) == ["f2.css", "f4.css"]
    assert result["removed"]["static_files"] == 2

    again = run(capsys, root=str(root), action="prune", keep=2)
    assert not again["changed"]


def test_prune_removes_unused_venvs(root, capsys):
    build(root, "r1", "old", {}, "2026-01-01T00:00:00Z")
    build(root, "r2", "new", {}, "2026-01-02T00:00:00Z")
    run(capsys, root=str(root), action="switch", release="r2")
    result = run(capsys, root=str(root), action="prune", keep=1)
    assert result["removed"] == {"releases": ["r1"], "venvs": ["old"], "static_files": 0}
    assert os.listdir(root / "venvs") == ["new"]


def test_keep_must_be_positive(root, capsys):
    assert run(capsys, root=str(root), action="prune", keep=0)["failed"]


def test_a_release_built_before_collected_dirs_still_publishes_its_static(root, capsys):
    build(root, "old", "v1", {"app.abc.js": "old"}, "2026-01-01T00:00:00Z", legacy=True)
    run(capsys, root=str(root), action="switch", release="old")
    assert (root / "shared/static/app.abc.js").samefile(root / "releases/old/static/app.abc.js")


def test_prune_removes_the_collected_static_of_removed_releases(root, capsys):
    for n in range(1, 4):
        build(root, f"r{n}", "v1", {f"f{n}.css": str(n)}, f"2026-01-0{n}T00:00:00Z")
        run(capsys, root=str(root), action="switch", release=f"r{n}")
    (root / "collected" / "half-built").mkdir()
    result = run(capsys, root=str(root), action="prune", keep=2)
    assert result["changed"]
    assert sorted(p.name for p in (root / "collected").iterdir()) == ["r2", "r3"]


def test_switch_says_when_the_virtualenv_changes(root, capsys):
    build(root, "r1", "v1", {}, "2026-01-01T00:00:00Z")
    build(root, "r2", "v1", {}, "2026-01-02T00:00:00Z")
    build(root, "r3", "v2", {}, "2026-01-03T00:00:00Z")
    assert not run(capsys, root=str(root), action="switch", release="r1")["venv_changed"]  # the first one
    assert not run(capsys, root=str(root), action="switch", release="r2")["venv_changed"]  # same venv: reload
    assert run(capsys, root=str(root), action="switch", release="r3")["venv_changed"]  # another: restart
