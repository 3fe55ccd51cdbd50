from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.san_entry import FilterModule, san_entry


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example.com", "DNS:example.com"),
        ("WWW.Example.COM.", "DNS:www.example.com"),
        ("*.example.com", "DNS:*.example.com"),
        ("localhost", "DNS:localhost"),
        ("192.0.2.7", "IP:192.0.2.7"),
        ("2001:db8::1", "IP:2001:db8::1"),
        ("2001:DB8:0::1", "IP:2001:db8::1"),
    ],
)
def test_san_entry_accepts_names_and_addresses(name: str, expected: str) -> None:
    assert san_entry(name) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "exa mple.com", "-bad.example.com", "bad-.example.com", "a..b", "a" * 64 + ".com", None, 7, ["x"]],
)
def test_san_entry_refuses_anything_else(bad: object) -> None:
    with pytest.raises(AnsibleFilterError, match="san_entry"):
        san_entry(bad)


def test_filter_is_registered() -> None:
    assert FilterModule().filters()["san_entry"] is san_entry
