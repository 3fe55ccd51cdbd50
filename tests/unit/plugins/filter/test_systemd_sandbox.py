"""The systemd_sandbox filter: one profile, changed by directive name."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.systemd_sandbox import PROFILE, systemd_sandbox

HOST = {"private_users": True}


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_the_profile_is_written_in_order_with_the_hosts_private_users():
    out = lines(systemd_sandbox({}, HOST))
    assert out[0] == "NoNewPrivileges=yes"
    assert "PrivateUsers=yes" in out
    assert "CapabilityBoundingSet=" in out
    assert out[-4:] == [
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "SystemCallErrorNumber=EPERM",
        "UMask=0077",
    ]
    expected = []
    for name, value in PROFILE:
        expected += [name] * (len(value) if isinstance(value, list) else 1)
    assert [line.split("=", 1)[0] for line in out] == expected
    assert "PrivateUsers=no" in lines(systemd_sandbox({}, {"private_users": False}))


def test_settings_replace_remove_and_add_directives():
    out = lines(
        systemd_sandbox(
            {
                "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
                "MemoryDenyWriteExecute": False,
                "RemoveIPC": None,
                "SystemCallFilter": ["@system-service"],
                "PrivateUsers": False,
                "ReadWritePaths": "/var/log/x",
            },
            HOST,
        )
    )
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in out
    assert "MemoryDenyWriteExecute=no" in out
    assert not [line for line in out if line.startswith("RemoveIPC=")]
    assert [line for line in out if line.startswith("SystemCallFilter=")] == [
        "SystemCallFilter=@system-service"
    ]
    assert "PrivateUsers=no" in out
    assert out[-1] == "ReadWritePaths=/var/log/x"


def test_no_trailing_newline_so_it_drops_into_a_template():
    assert not systemd_sandbox({}, HOST).endswith("\n")


@pytest.mark.parametrize(
    ("settings", "host", "message"),
    [
        ({}, None, "djangoprod_systemd_sandbox fact is missing"),
        ({}, {}, "djangoprod_systemd_sandbox fact is missing"),
        ({"UMask": {"a": 1}}, HOST, "is not a directive value"),
        ({"": "x"}, HOST, "must map directive names"),
    ],
)
def test_bad_inputs_are_refused(settings, host, message):
    with pytest.raises(AnsibleFilterError, match=message):
        systemd_sandbox(settings, host)
