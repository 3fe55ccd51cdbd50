"""files: directories, files and links of a role in one call."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import files

OWNER = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}


def run(capsys, entries: list[dict], **more) -> dict:
    args = {"files": [{**OWNER, **entry} for entry in entries], "_ansible_diff": True, **more}
    with patch_module_args(args), pytest.raises(SystemExit):
        files.main()
    return json.loads(capsys.readouterr().out)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def tree(top: Path) -> list[dict]:
    return [
        {"path": str(top / "conf.d"), "state": "directory", "mode": "0750"},
        {"path": str(top / "conf.d" / "site.conf"), "content": "server {}\n", "mode": "0640"},
        {"path": str(top / "enabled"), "state": "link", "src": "conf.d/site.conf"},
        {"path": str(top / "default"), "state": "absent"},
    ]


def test_a_tree_is_converged_in_one_call_and_then_left_alone(tmp_path, capsys):
    (tmp_path / "default").write_text("stock\n")
    first = run(capsys, tree(tmp_path))
    assert first["changed"] and first["changed_paths"] == [e["path"] for e in tree(tmp_path)]
    assert (tmp_path / "conf.d" / "site.conf").read_text() == "server {}\n"
    assert mode(tmp_path / "conf.d") == 0o750 and mode(tmp_path / "conf.d" / "site.conf") == 0o640
    assert os.readlink(tmp_path / "enabled") == "conf.d/site.conf"
    assert not (tmp_path / "default").exists()
    assert {
        "before_header": str(tmp_path / "conf.d" / "site.conf"),
        "after_header": str(tmp_path / "conf.d" / "site.conf"),
        "before": "",
        "after": "server {}\n",
    } in first["diff"]

    again = run(capsys, tree(tmp_path))
    assert not again["changed"] and again["changed_paths"] == [] and again["diff"] == []


def test_only_what_differs_changes(tmp_path, capsys):
    run(capsys, tree(tmp_path))
    (tmp_path / "conf.d").chmod(0o755)
    site = tmp_path / "conf.d" / "site.conf"
    site.write_text("edited by hand\n")
    result = run(capsys, tree(tmp_path))
    assert result["changed_paths"] == [str(tmp_path / "conf.d"), str(site)]
    assert mode(tmp_path / "conf.d") == 0o750 and site.read_text() == "server {}\n"
    assert {"before": "edited by hand\n", "after": "server {}\n"}.items() <= result["diff"][0].items()


def test_a_link_at_a_files_path_is_replaced_not_followed(tmp_path, capsys):
    target = tmp_path / "target"
    target.write_text("not ours\n")
    (tmp_path / "conf").symlink_to(target)
    run(capsys, [{"path": str(tmp_path / "conf"), "content": "ours\n"}])
    assert not (tmp_path / "conf").is_symlink() and (tmp_path / "conf").read_text() == "ours\n"
    assert target.read_text() == "not ours\n"


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    result = run(capsys, tree(tmp_path), _ansible_check_mode=True)
    assert result["changed"] and len(result["changed_paths"]) == 3  # nothing to remove
    assert os.listdir(tmp_path) == []


def test_content_that_fails_validation_leaves_the_file_as_it_was(tmp_path, capsys):
    conf = tmp_path / "conf"
    conf.write_text("good\n")
    result = run(capsys, [{"path": str(conf), "content": "bad\n", "validate": "grep -q good %s"}])
    assert result["failed"] and str(conf) in result["msg"] and "fails" in result["msg"]
    assert conf.read_text() == "good\n" and os.listdir(tmp_path) == ["conf"]
    ok = run(capsys, [{"path": str(conf), "content": "good too\n", "validate": "grep -q good %s"}])
    assert ok["changed"] and conf.read_text() == "good too\n"


def test_a_file_in_a_missing_directory_is_refused(tmp_path, capsys):
    result = run(capsys, [{"path": str(tmp_path / "nowhere" / "conf"), "content": "x\n"}])
    assert result["failed"] and "create it first" in result["msg"]


def test_follow_writes_through_a_link_and_managed_false_leaves_a_path_alone(tmp_path, capsys):
    (tmp_path / "locale.conf").write_text("LANG=C\n")
    (tmp_path / "locale").symlink_to("locale.conf")
    (tmp_path / "other").write_text("theirs\n")
    result = run(
        capsys,
        [
            {"path": str(tmp_path / "locale"), "content": "LANG=C.UTF-8\n", "follow": True},
            {"path": str(tmp_path / "other"), "content": "ours\n", "managed": False},
        ],
    )
    assert result["changed_paths"] == [str(tmp_path / "locale.conf")]
    assert os.readlink(tmp_path / "locale") == "locale.conf"
    assert (tmp_path / "locale.conf").read_text() == "LANG=C.UTF-8\n"
    assert (tmp_path / "other").read_text() == "theirs\n"


def test_a_file_without_content_gets_its_mode_only(tmp_path, capsys):
    conf = tmp_path / "sshd_config"
    conf.write_text("Port 22\n")
    conf.chmod(0o644)
    result = run(capsys, [{"path": str(conf), "mode": "0600"}])
    assert result["changed"] and mode(conf) == 0o600 and conf.read_text() == "Port 22\n"
    assert run(capsys, [{"path": str(tmp_path / "none"), "mode": "0600"}])["failed"]


def test_a_secret_shows_in_no_diff_and_nowhere_in_the_output(tmp_path, capsys):
    conf = tmp_path / "redis.conf"
    args = {"files": [{**OWNER, "path": str(conf), "content": "user app on #c0ffee\n", "secret": True}]}
    with (
        patch_module_args({**args, "_ansible_diff": True, "_ansible_verbosity": 4}),
        pytest.raises(SystemExit),
    ):
        files.main()
    printed = capsys.readouterr().out
    assert "c0ffee" not in printed and json.loads(printed)["diff"] == [
        {"before_header": str(conf), "after_header": str(conf)}
    ]
    assert conf.read_text() == "user app on #c0ffee\n"


def test_no_diff_is_returned_unless_asked(tmp_path, capsys):
    args = {"files": [{**OWNER, "path": str(tmp_path / "conf"), "content": "x\n"}]}
    with patch_module_args(args), pytest.raises(SystemExit):
        files.main()
    assert json.loads(capsys.readouterr().out)["diff"] == []


def test_settings_set_keys_in_place_keep_the_rest_and_add_what_is_missing(tmp_path, capsys):
    defs = tmp_path / "login.defs"
    defs.write_text(
        "# UMASK 022 stays\nUMASK\t\t022\nPASS_MAX_DAYS\t99999\nUMASK 002\nENCRYPT_METHOD SHA512\n"
    )
    settings = {"UMASK": "027", "PASS_MAX_DAYS": 365, "SHA_CRYPT_MIN_ROUNDS": 5000}
    entry = {"path": str(defs), "settings": settings}
    first = run(capsys, [entry])
    assert first["changed_paths"] == [str(defs)]
    assert defs.read_text() == (
        "# UMASK 022 stays\nUMASK 027\nPASS_MAX_DAYS 365\nUMASK 002\n"
        "ENCRYPT_METHOD SHA512\nSHA_CRYPT_MIN_ROUNDS 5000\n"
    )
    assert not run(capsys, [entry])["changed"]


def test_settings_need_an_existing_file_and_no_content(tmp_path, capsys):
    missing = run(capsys, [{"path": str(tmp_path / "login.defs"), "settings": {"UMASK": "027"}}])
    assert missing["failed"] and "settings change an existing file" in missing["msg"]
    (tmp_path / "login.defs").write_text("UMASK 022\n")
    both = run(
        capsys, [{"path": str(tmp_path / "login.defs"), "settings": {"UMASK": "027"}, "content": "x\n"}]
    )
    assert both["failed"] and "not both" in both["msg"]
    assert (tmp_path / "login.defs").read_text() == "UMASK 022\n"


def test_settings_with_a_separator_edit_shell_style_files(tmp_path, capsys):
    sysstat = tmp_path / "sysstat"
    sysstat.write_text('# ENABLED="true" to collect\nENABLED="false"\nSA1_OPTIONS="-S DISK"\n')
    entry = {"path": str(sysstat), "settings": {"ENABLED": '"true"'}, "separator": "="}
    assert run(capsys, [entry])["changed"]
    assert sysstat.read_text() == '# ENABLED="true" to collect\nENABLED="true"\nSA1_OPTIONS="-S DISK"\n'
    assert not run(capsys, [entry])["changed"]


def test_a_link_to_a_file_not_there_yet_is_left_alone_in_check_mode(tmp_path, capsys):
    # a metrics file a unit writes later, linked where monitoring reads it
    link = {
        "path": str(tmp_path / "drill.prom"),
        "state": "link",
        "src": str(tmp_path / "state" / "drill.prom"),
    }
    assert run(capsys, [link])["changed"]
    assert run(capsys, [link])["changed_paths"] == []
    assert run(capsys, [link], _ansible_check_mode=True)["changed_paths"] == []


def test_a_link_whose_target_must_exist_is_refused_before_anything_changes(tmp_path, capsys):
    (tmp_path / "zoneinfo" / "Europe").mkdir(parents=True)
    (tmp_path / "zoneinfo" / "Europe" / "Paris").write_text("TZif\n")
    (tmp_path / "etc").mkdir()
    first = {"path": str(tmp_path / "etc" / "issue"), "content": "hello\n"}
    link = {"path": str(tmp_path / "etc" / "localtime"), "state": "link", "require_src": True}
    bad = run(capsys, [first, {**link, "src": "../zoneinfo/Europe/Pariss"}])
    assert bad["failed"] and bad["msg"].endswith("the link's target ../zoneinfo/Europe/Pariss does not exist")
    assert os.listdir(tmp_path / "etc") == []
    good = run(capsys, [first, {**link, "src": "../zoneinfo/Europe/Paris"}])
    assert good["changed"] and (tmp_path / "etc" / "localtime").read_text() == "TZif\n"
