# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests: network address forms that role inputs must have."""

from __future__ import annotations

import ipaddress


def cidr(value: object) -> bool:
    """True for an IPv4/IPv6 network in CIDR form with no host bits set (10.0.0.0/24, 10.0.0.7/32)."""
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def ip_address(value: object) -> bool:
    """True for a single IPv4 or IPv6 address."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def in_networks(value: object, networks: object) -> bool:
    """True when address `value` lies in any of `networks` (CIDR strings)."""
    if not ip_address(value) or not isinstance(networks, (list, tuple)):
        return False
    address = ipaddress.ip_address(value)
    return any(cidr(net) and address in ipaddress.ip_network(net) for net in networks)


class TestModule:
    """djangoprod.stack network tests."""

    def tests(self) -> dict[str, object]:
        return {"cidr": cidr, "ip_address": ip_address, "in_networks": in_networks}
