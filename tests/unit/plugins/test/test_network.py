from __future__ import annotations

import pytest
from ansible_collections.djangoprod.stack.plugins.test.network import TestModule as NetworkTests
from ansible_collections.djangoprod.stack.plugins.test.network import cidr, in_networks, ip_address


@pytest.mark.parametrize("value", ["10.0.0.0/24", "10.0.0.7/32", "0.0.0.0/0", "2001:db8::/64", "::1/128"])
def test_cidr_accepts_networks(value):
    assert cidr(value)


@pytest.mark.parametrize(
    "value",
    ["10.0.0.7/24", "10.0.0.0/33", "10.0.0.0", "10.0.0/24", "example.com/24", "", None, 24, ["10.0.0.0/8"]],
)
def test_cidr_refuses_everything_else(value):
    assert not cidr(value)


@pytest.mark.parametrize("value", ["192.0.2.7", "2001:db8::1", "::1"])
def test_ip_address_accepts_addresses(value):
    assert ip_address(value)


@pytest.mark.parametrize("value", ["192.0.2.0/24", "example.com", "256.1.1.1", "", None, 7])
def test_ip_address_refuses_everything_else(value):
    assert not ip_address(value)


@pytest.mark.parametrize(
    ("value", "networks", "expected"),
    [
        ("10.0.0.7", ["10.0.0.0/24"], True),
        ("10.0.1.7", ["10.0.0.0/24", "10.0.1.0/24"], True),
        ("10.0.2.7", ["10.0.0.0/24", "10.0.1.0/24"], False),
        ("2001:db8::1", ["2001:db8::/64"], True),
        ("10.0.0.7", ["2001:db8::/64"], False),
        ("10.0.0.7", [], False),
        ("10.0.0.7", ["garbage"], False),
        ("not-an-address", ["10.0.0.0/8"], False),
        ("10.0.0.7", "10.0.0.0/8", False),
    ],
)
def test_in_networks(value, networks, expected):
    assert in_networks(value, networks) is expected


def test_tests_are_registered():
    assert NetworkTests().tests() == {"cidr": cidr, "ip_address": ip_address, "in_networks": in_networks}
