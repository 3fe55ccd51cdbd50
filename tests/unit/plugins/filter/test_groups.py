"""known_groups: a play's groups that the inventory has."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.groups import known_groups

SINGLE = {
    "all": ["vps1"],
    "ungrouped": [],
    "webservers": ["vps1"],
    "dbservers": ["vps1"],
    "workers": ["vps1"],
}


@pytest.mark.parametrize(
    ("pattern", "kept"),
    [
        ("dbservers:backupservers", ["dbservers"]),
        ("loadbalancers", []),
        ("webservers:workers", ["webservers", "workers"]),
        ("loadbalancers,webservers", ["webservers"]),
        # Not plain group names: Ansible's own to match
        ("web*:&dbservers:!vps2", ["web*", "&dbservers", "!vps2"]),
    ],
)
def test_groups_the_inventory_leaves_out_are_dropped(pattern, kept):
    assert known_groups(pattern, SINGLE) == kept


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="host pattern"):
        known_groups(["webservers"], SINGLE)
    with pytest.raises(AnsibleFilterError, match="groups"):
        known_groups("webservers", ["webservers"])
