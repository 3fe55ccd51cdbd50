"""The services module: one systemctl show, then only the actions each unit needs."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import services


class FakeSystemd:
    """Units with their states; records every systemctl call."""

    def __init__(self, units: dict[str, tuple[str, str]]):
        self.units = {name: {"active": a, "file": f} for name, (a, f) in units.items()}
        self.calls: list[list[str]] = []
        self.fail: str = ""

    def __call__(self, args, **kwargs):
        self.calls.append(args)
        if args[1] == "show":
            blocks = []
            for name in args[args.index("--") + 1 :]:
                unit = self.units.get(name)
                if unit is None:
                    blocks.append(f"Id={name}\nActiveState=inactive\nUnitFileState=\nLoadState=not-found")
                else:
                    blocks.append(
                        f"Id={name}\nActiveState={unit['active']}\nUnitFileState={unit['file']}\nLoadState=loaded"
                    )
            return 0, "\n\n".join(blocks) + "\n", ""
        if args[1] in ("start", "restart", "reload"):
            if args[2] == self.fail:
                return 1, "", f"Job for {args[2]} failed"
            self.units[args[2]]["active"] = "active"
        if args[1] == "stop":
            self.units[args[2]]["active"] = "inactive"
        if args[1] in ("enable", "disable"):
            self.units[args[2]]["file"] = f"{args[1]}d"
        return 0, "", ""


@pytest.fixture
def systemd(monkeypatch):
    fake = FakeSystemd(
        {
            "a.service": ("active", "enabled"),
            "b.service": ("inactive", "disabled"),
            "c.timer": ("active", "enabled"),
            "d.service": ("active", "static"),
        }
    )
    monkeypatch.setattr(AnsibleModule, "run_command", fake)
    return fake


def run(capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        services.main()
    return json.loads(capsys.readouterr().out)


def actions(systemd) -> list[list[str]]:
    return [call[1:] for call in systemd.calls if call[1] != "show"]


def test_only_what_is_needed_is_done_and_a_second_run_changes_nothing(capsys, systemd):
    units = ["a.service", "b.service", "c.timer", "d.service"]
    first = run(capsys, units=units, restart=["c.timer"], daemon_reload=True)
    assert first["changed"]
    assert first["started"] == ["b.service"] and first["restarted"] == ["c.timer"]
    assert first["enabled"] == ["b.service"]  # a static unit is never enabled
    assert actions(systemd) == [
        ["daemon-reload"],
        ["start", "b.service"],
        ["enable", "b.service"],
        ["restart", "c.timer"],
    ]
    assert len([c for c in systemd.calls if c[1] == "show"]) == 1
    systemd.calls.clear()
    second = run(capsys, units=units)
    assert not second["changed"] and actions(systemd) == []


def test_reload_applies_to_running_units_and_starts_stopped_ones(capsys, systemd):
    result = run(capsys, units=["a.service", "b.service"], reload=["a.service", "b.service"])
    assert result["reloaded"] == ["a.service"] and result["started"] == ["b.service"]


def test_check_mode_reports_and_does_nothing(capsys, systemd):
    result = run(
        capsys,
        units=["a.service", "b.service"],
        restart=["a.service"],
        daemon_reload=True,
        _ansible_check_mode=True,
    )
    assert result["changed"] and result["restarted"] == ["a.service"] and result["started"] == ["b.service"]
    assert actions(systemd) == []


def test_a_failing_unit_names_itself_and_where_to_look(capsys, systemd):
    systemd.fail = "b.service"
    result = run(capsys, units=["b.service"])
    assert result["failed"] and "systemctl start b.service failed" in result["msg"]
    assert "journalctl -u b.service" in result["msg"]


def test_unknown_units_and_strays_are_refused(capsys, systemd):
    assert "not a unit systemd knows" in run(capsys, units=["nope.service"])["msg"]
    assert "not in units" in run(capsys, units=["a.service"], restart=["b.service"])["msg"]


def test_units_kept_stopped_or_disabled_and_a_second_run_changes_nothing(capsys, systemd):
    units = ["a.service", "b.service", "c.timer", "d.service"]
    first = run(
        capsys,
        units=units,
        stopped=["a.service", "b.service"],
        disabled=["a.service", "c.timer", "d.service"],
    )
    assert first["stopped"] == ["a.service"] and first["started"] == []
    # b is kept stopped but still enabled (not in disabled); d is static and left alone
    assert first["disabled"] == ["a.service", "c.timer"] and first["enabled"] == ["b.service"]
    assert actions(systemd) == [
        ["stop", "a.service"],
        ["disable", "a.service"],
        ["enable", "b.service"],
        ["disable", "c.timer"],
    ]
    systemd.calls.clear()
    second = run(
        capsys,
        units=units,
        stopped=["a.service", "b.service"],
        disabled=["a.service", "c.timer", "d.service"],
    )
    assert not second["changed"] and actions(systemd) == []


def test_enable_only_leaves_the_running_state_alone(capsys, systemd):
    # as a time daemon that declines to run in a container: enabled, never started each run
    result = run(capsys, units=["a.service", "b.service"], enable_only=["b.service"])
    assert result["enabled"] == ["b.service"] and result["started"] == []
    assert actions(systemd) == [["enable", "b.service"]]


def test_stopped_units_cannot_be_restarted_too(capsys, systemd):
    result = run(capsys, units=["a.service"], stopped=["a.service"], restart=["a.service"])
    assert result["failed"] and "both kept stopped and restarted" in result["msg"]
    assert "not in units" in run(capsys, units=["a.service"], enable_only=["b.service"])["msg"]
