from __future__ import annotations

import grp
import json
import os
import pwd
import stat
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import secret_files


def run(capsys, **args) -> dict:
    args.setdefault("owner", pwd.getpwuid(os.getuid()).pw_name)
    args.setdefault("group", grp.getgrgid(os.getgid()).gr_name)
    with patch_module_args(args), pytest.raises(SystemExit):
        secret_files.main()
    return json.loads(capsys.readouterr().out)


def test_writes_what_differs_and_names_it(tmp_path: Path, capsys) -> None:
    (tmp_path / "database_password").write_text("same\n")
    (tmp_path / "other").write_text("left alone\n")
    files = {"database_password": "same\n", "environment": "A=1\n"}
    first = run(capsys, directory=str(tmp_path), files=files)
    assert first["changed"] and first["changed_files"] == ["database_password", "environment"]
    assert (tmp_path / "environment").read_text() == "A=1\n"
    assert stat.S_IMODE((tmp_path / "environment").stat().st_mode) == 0o600
    assert (tmp_path / "other").read_text() == "left alone\n"

    again = run(capsys, directory=str(tmp_path), files=files)
    assert not again["changed"] and again["changed_files"] == []
    changed = run(capsys, directory=str(tmp_path), files={**files, "environment": "A=2\n"})
    assert changed["changed_files"] == ["environment"]


def test_check_mode_writes_nothing(tmp_path: Path, capsys) -> None:
    result = run(capsys, directory=str(tmp_path), files={"secret_key": "k\n"}, _ansible_check_mode=True)
    assert result["changed"] and not (tmp_path / "secret_key").exists()


def test_never_returns_or_diffs_the_content(tmp_path: Path, capsys) -> None:
    result = run(
        capsys, directory=str(tmp_path), files={"secret_key": "hunter2-hunter2\n"}, _ansible_diff=True
    )
    assert "hunter2" not in json.dumps(result)


def test_refuses_paths(tmp_path: Path, capsys) -> None:
    result = run(capsys, directory=str(tmp_path), files={"../escape": "x"})
    assert result["failed"] and "plain file names" in result["msg"]
