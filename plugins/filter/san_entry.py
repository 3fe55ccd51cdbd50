# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: turn a server name or address into an X.509 subjectAltName entry."""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

# RFC 1123 host names, with an optional leading wildcard label.
_HOSTNAME = re.compile(r"^(\*\.)?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def san_entry(name: object) -> str:
    """Return ``IP:<addr>`` for an IP address, ``DNS:<name>`` for a host name."""
    if not isinstance(name, str) or not name:
        raise AnsibleFilterError(
            f"san_entry: expected a host name or IP address as a non-empty string, got {name!r}"
        )
    try:
        return f"IP:{ipaddress.ip_address(name)}"
    except ValueError:
        pass
    if len(name) > 253 or not _HOSTNAME.match(name):
        raise AnsibleFilterError(f"san_entry: {name!r} is neither an IP address nor a valid host name")
    return f"DNS:{name.rstrip('.').lower()}"


class FilterModule:
    """djangoprod.stack TLS filters."""

    def filters(self) -> dict[str, object]:
        return {"san_entry": san_entry}
