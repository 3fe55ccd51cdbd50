"""The accounts module: groupadd, useradd and usermod only for what is missing or differs.

The system's databases are a fake that groupadd, useradd and usermod change as the real
commands do; the scenarios (base, app, backup) run the module on real hosts."""

from __future__ import annotations

import grp
import json
import pwd

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import accounts


class FakeSystem:
    """/etc/passwd, /etc/group and /etc/shadow in dicts; records every command."""

    def __init__(self, tmp_path):
        self.groups: dict[str, dict] = {"root": {"gid": 0, "members": []}, "sudo": {"gid": 27, "members": []}}
        self.users: dict[str, dict] = {}
        self.locked: dict[str, bool] = {}
        self.calls: list[list[str]] = []
        self.shadow = tmp_path / "shadow"
        self._write_shadow()

    def _write_shadow(self):
        self.shadow.write_text(
            "".join(
                f"{name}:{'!' if locked else '$y$hash'}:19000::::::\n" for name, locked in self.locked.items()
            )
        )

    def getgrnam(self, name):
        group = self.groups.get(name)
        if group is None:
            raise KeyError(name)
        return grp.struct_group((name, "x", group["gid"], list(group["members"])))

    def getgrgid(self, gid):
        for name, group in self.groups.items():
            if group["gid"] == gid:
                return self.getgrnam(name)
        raise KeyError(gid)

    def getgrall(self):
        return [self.getgrnam(name) for name in self.groups]

    def getpwnam(self, name):
        user = self.users.get(name)
        if user is None:
            raise KeyError(name)
        return pwd.struct_passwd(
            (name, "x", user["uid"], user["gid"], user["comment"], user["home"], user["shell"])
        )

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        command, args = argv[0], argv[1:]
        name = args[-1]
        opts = dict(zip(args[:-1], [*args[1:-1], ""]))  # noqa: B905 (option -> the word after it)
        if command == "groupadd":
            self.groups[name] = {"gid": 100 + len(self.groups), "members": []}
        elif command == "useradd":
            if "-g" in opts:
                gid = self.groups[opts["-g"]]["gid"]
            else:
                self.groups[name] = {"gid": 100 + len(self.groups), "members": []}
                gid = self.groups[name]["gid"]
            self.users[name] = {
                "uid": 900 + len(self.users),
                "gid": gid,
                "home": opts.get("-d", f"/home/{name}"),
                "shell": opts.get("-s", "/bin/sh"),
                "comment": opts.get("-c", ""),
            }
            for group in filter(None, opts.get("-G", "").split(",")):
                self.groups[group]["members"].append(name)
            self.locked[name] = True  # Debian's useradd leaves the password locked
        elif command == "usermod":
            user = self.users[name]
            if "-g" in opts:
                user["gid"] = self.groups[opts["-g"]]["gid"]
            if "-s" in opts:
                user["shell"] = opts["-s"]
            if "-d" in opts:
                user["home"] = opts["-d"]
            if "-c" in opts:
                user["comment"] = opts["-c"]
            if "-G" in opts:
                assert "-a" in args, "usermod -G without -a takes the user out of its other groups"
                for group in opts["-G"].split(","):
                    self.groups[group]["members"].append(name)
            if "-L" in args:
                self.locked[name] = True
        self._write_shadow()
        return 0, "", ""


@pytest.fixture
def system(monkeypatch, tmp_path):
    fake = FakeSystem(tmp_path)
    for name in ("getgrnam", "getgrgid", "getgrall"):
        monkeypatch.setattr(accounts.grp, name, getattr(fake, name))
    monkeypatch.setattr(accounts.pwd, "getpwnam", fake.getpwnam)
    monkeypatch.setattr(accounts, "SHADOW", str(fake.shadow))
    monkeypatch.setattr(AnsibleModule, "run_command", fake)
    return fake


def run(capsys, check_mode: bool = False, **args) -> dict:
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit):
        accounts.main()
    return json.loads(capsys.readouterr().out)


APP = {
    "groups": [{"name": "shop"}, {"name": "shop-build"}],
    "users": [
        {"name": "shop", "group": "shop", "system": True, "shell": "/usr/sbin/nologin", "home": "/srv/shop"},
        {"name": "shop-build", "group": "shop-build", "system": True, "shell": "/usr/sbin/nologin"},
    ],
}


def test_what_is_missing_is_created_groups_first_and_a_second_run_changes_nothing(capsys, system):
    first = run(capsys, **APP)
    assert first["changed"]
    assert first["created"] == ["group:shop", "group:shop-build", "user:shop", "user:shop-build"]
    assert system.calls == [
        ["groupadd", "--system", "shop"],
        ["groupadd", "--system", "shop-build"],
        ["useradd", "--system", "-g", "shop", "-s", "/usr/sbin/nologin", "-d", "/srv/shop", "-M", "shop"],
        ["useradd", "--system", "-g", "shop-build", "-s", "/usr/sbin/nologin", "-M", "shop-build"],
    ]
    assert first["users"]["shop"] == {
        "uid": 900,
        "gid": system.groups["shop"]["gid"],
        "group": "shop",
        "home": "/srv/shop",
        "shell": "/usr/sbin/nologin",
    }
    system.calls.clear()
    second = run(capsys, **APP)
    assert not second["changed"] and system.calls == []
    assert second["users"] == first["users"]


def test_one_group_named_twice_is_created_once(capsys, system):
    result = run(capsys, groups=[{"name": "shop"}, {"name": "shop"}])
    assert result["created"] == ["group:shop"] and system.calls == [["groupadd", "--system", "shop"]]


def test_an_existing_user_gets_what_differs_and_keeps_its_other_groups(capsys, system):
    run(capsys, groups=[{"name": "staff"}], users=[{"name": "ops", "groups": ["staff"], "create_home": True}])
    system.locked["ops"] = False  # a password set since
    system._write_shadow()
    system.calls.clear()
    result = run(
        capsys,
        users=[
            {"name": "ops", "groups": ["sudo"], "shell": "/bin/bash", "password_lock": True, "comment": "Ops"}
        ],
    )
    assert result["changed_users"] == ["ops:groups,shell,comment,password_lock"]
    assert system.calls == [["usermod", "-a", "-G", "sudo", "-s", "/bin/bash", "-c", "Ops", "-L", "ops"]]
    assert "ops" in system.groups["staff"]["members"] and "ops" in system.groups["sudo"]["members"]
    assert result["users"]["ops"]["home"] == "/home/ops" and result["users"]["ops"]["group"] == "ops"


def test_a_new_user_with_create_home_and_a_locked_password(capsys, system):
    result = run(
        capsys, users=[{"name": "ops", "groups": ["sudo"], "create_home": True, "password_lock": True}]
    )
    assert system.calls == [["useradd", "-G", "sudo", "-m", "ops"]]  # useradd left it locked
    assert result["users"]["ops"]["group"] == "ops"


def test_a_check_run_reports_and_runs_nothing(capsys, system):
    result = run(capsys, check_mode=True, **APP)
    assert result["changed"] and len(result["created"]) == 4
    assert system.calls == [] and result["users"] == {}
    run(capsys, **APP)
    system.users["shop"]["shell"] = "/bin/sh"
    system.calls.clear()
    result = run(capsys, check_mode=True, **APP)
    assert result["changed_users"] == ["shop:shell"] and system.calls == []


def test_a_group_that_does_not_exist_is_named(capsys, system):
    result = run(capsys, users=[{"name": "shop", "group": "nope", "groups": ["sudo", "absent"]}])
    assert result["failed"]
    assert result["msg"] == "user shop: no group nope, absent on the host (add it to groups)"
    assert system.calls == []


def test_a_failed_command_says_which(capsys, system, monkeypatch):
    monkeypatch.setattr(
        AnsibleModule, "run_command", lambda self, argv, **kw: (9, "", "useradd: name in use")
    )
    result = run(capsys, users=[{"name": "shop"}])
    assert result["failed"]
    assert result["msg"] == "useradd -M shop failed (rc 9): useradd: name in use"
    assert result["created"] == ["user:shop"]
