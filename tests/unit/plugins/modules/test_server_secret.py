from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import server_secret


def run(capsys, **args) -> dict:
    me = os.getuid()
    group = os.getgid()
    import grp
    import pwd

    args.setdefault("owner", pwd.getpwuid(me).pw_name)
    args.setdefault("group", grp.getgrgid(group).gr_name)
    with patch_module_args(args), pytest.raises(SystemExit):
        server_secret.main()
    return json.loads(capsys.readouterr().out)


def test_generates_once_then_keeps_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret"
    first = run(capsys, path=str(path))
    assert first["changed"] and first["generated"]
    assert len(first["secret"]) == 48
    assert path.read_text() == first["secret"] + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    second = run(capsys, path=str(path))
    assert not second["changed"] and not second["generated"]
    assert second["secret"] == first["secret"]


def test_given_value_replaces_the_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret"
    path.write_text("old\n")
    result = run(capsys, path=str(path), value="from-the-vault")
    assert result["changed"] and not result["generated"]
    assert result["secret"] == "from-the-vault"
    assert path.read_text() == "from-the-vault\n"
    assert not run(capsys, path=str(path), value="from-the-vault")["changed"]


def test_check_mode_writes_nothing(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret"
    result = run(capsys, path=str(path), _ansible_check_mode=True)
    assert result["changed"] and result["generated"]
    assert not path.exists()


def test_diff_never_shows_the_secret(tmp_path: Path, capsys) -> None:
    result = run(capsys, path=str(tmp_path / "secret"), value="hunter2-hunter2-hunter2", _ansible_diff=True)
    assert "hunter2" not in json.dumps(result["diff"])


def test_mode_is_corrected(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret"
    run(capsys, path=str(path))
    path.chmod(0o644)
    result = run(capsys, path=str(path))
    assert result["changed"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"length": 8}, "length must be at least 16"),
        ({"value": ""}, "must not be empty"),
    ],
)
def test_bad_input_fails_clearly(tmp_path: Path, capsys, args, message) -> None:
    result = run(capsys, path=str(tmp_path / "secret"), **args)
    assert result["failed"]
    assert message in result["msg"]


def test_missing_directory_fails_clearly(tmp_path: Path, capsys) -> None:
    result = run(capsys, path=str(tmp_path / "nowhere" / "secret"))
    assert result["failed"]
    assert "does not exist" in result["msg"]


def test_check_mode_accepts_a_directory_a_real_run_would_create(tmp_path: Path, capsys) -> None:
    path = tmp_path / "not-yet" / "secret"
    result = run(capsys, path=str(path), _ansible_check_mode=True)
    assert result["changed"] and result["generated"]
    assert not path.parent.exists()


@pytest.mark.skipif(os.getuid() != 0, reason="the directory is made root's")
def test_the_directory_is_made_in_the_same_call(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secrets" / "app-cache"
    first = run(capsys, path=str(path), directory_mode="0700")
    assert first["changed"] and path.read_text() == first["secret"] + "\n"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not run(capsys, path=str(path), directory_mode="0700")["changed"]
    path.parent.chmod(0o755)
    assert run(capsys, path=str(path), directory_mode="0700")["changed"]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_different_value_is_refused_when_it_may_not_replace_the_kept_one(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret"
    path.write_text("kept-secret-value-1234\n")
    path.chmod(0o600)
    refused = run(
        capsys, path=str(path), value="vault-secret-value-5678", replace=False, replace_refusal="run site.yml"
    )
    assert refused["failed"] and refused["msg"] == "run site.yml"
    # the kept secret is not told (the given one is masked by the task's no_log)
    assert "kept-secret" not in json.dumps(refused)
    assert path.read_text() == "kept-secret-value-1234\n"
    # the same value, or a first one, is fine
    assert not run(capsys, path=str(path), value="kept-secret-value-1234", replace=False)["changed"]
    first = tmp_path / "other"
    assert run(capsys, path=str(first), value="vault-secret-value-5678", replace=False)["changed"]


def test_a_replaced_secret_is_kept_as_previous_until_its_file_goes(tmp_path: Path, capsys) -> None:
    path, previous = tmp_path / "secret", tmp_path / "secret.previous"
    path.write_text("first-secret\n")
    # no replacement: nothing kept
    assert run(capsys, path=str(path), previous_path=str(previous))["previous"] == []
    assert not previous.exists()
    # checked, not written
    checked = run(
        capsys, path=str(path), value="second-secret", previous_path=str(previous), _ansible_check_mode=True
    )
    assert checked["previous"] == ["first-secret"] and not previous.exists()
    rotated = run(capsys, path=str(path), value="second-secret", previous_path=str(previous))
    assert rotated["changed"] and rotated["previous"] == ["first-secret"]
    assert previous.read_text() == "first-secret\n" and stat.S_IMODE(previous.stat().st_mode) == 0o600
    # a run that finds the rotation unfinished (killed before the user switched) still says it
    again = run(capsys, path=str(path), value="second-secret", previous_path=str(previous))
    assert not again["changed"] and again["previous"] == ["first-secret"]
    # another change before the first finished: both kept, newest first, three at most
    for value in ("third-secret", "fourth-secret", "fifth-secret"):
        last = run(capsys, path=str(path), value=value, previous_path=str(previous))
    assert last["previous"] == ["fourth-secret", "third-secret", "second-secret"]
    # back to a kept one: it is the secret, not a previous one
    back = run(capsys, path=str(path), value="fourth-secret", previous_path=str(previous))
    assert back["previous"] == ["fifth-secret", "third-secret"]
    previous.unlink()
    assert run(capsys, path=str(path), previous_path=str(previous))["previous"] == []
