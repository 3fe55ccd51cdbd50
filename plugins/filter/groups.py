# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the groups of a host pattern that the inventory has (a play's hosts)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# A part of a pattern that is not a plain group name is kept as it is.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def known_groups(pattern: object, groups: object) -> list[str]:
    """The parts of a union pattern (``dbservers:backupservers``) that name a group of the
    inventory, as a list a play's ``hosts`` takes (empty: the play matches no host, and
    Ansible says nothing of a group the inventory leaves out)."""
    if not isinstance(pattern, str):
        raise AnsibleFilterError(f"known_groups: expected a host pattern as a string, got {pattern!r}")
    if not isinstance(groups, dict):
        raise AnsibleFilterError(
            f"known_groups: expected the inventory's groups as a mapping, got {type(groups)}"
        )
    parts = [part.strip() for part in re.split(r"[:,]", pattern) if part.strip()]
    return [part for part in parts if part in groups or not _PLAIN.match(part)]


class FilterModule:
    """djangoprod.stack host pattern filters."""

    def filters(self) -> dict[str, object]:
        return {"known_groups": known_groups}
