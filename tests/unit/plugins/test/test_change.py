from __future__ import annotations

import pytest
from ansible_collections.djangoprod.stack.plugins.test.change import TestModule as ChangeTests
from ansible_collections.djangoprod.stack.plugins.test.change import pending_change


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"changed": False, "diff": [{"before": "", "after": "new\n"}]}, True),
        ({"changed": False, "diff": [{"before": "old\n", "after": "new\n"}]}, True),
        ({"changed": False, "diff": [{"before": "same\n", "after": "same\n"}]}, False),
        ({"changed": False, "diff": [{"before": {"mode": "0644"}, "after": {"mode": "0600"}}]}, True),
        ({"changed": False, "diff": []}, False),
        ({"changed": False}, False),
        ({"skipped": True, "diff": [{"before": "", "after": "x"}]}, False),
        (None, False),
        ("changed", False),
    ],
)
def test_pending_change(result, expected):
    assert pending_change(result) is expected


def test_registered():
    assert ChangeTests().tests() == {"pending_change": pending_change}
