# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the systemd sandboxing directives every service of the collection runs under."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The strictest set a network service can run under, in the order they are written.
# A role takes away only what its service needs (capabilities, writable paths, a
# system call group), by name, so the rest stays the same everywhere.
PROFILE: tuple[tuple[str, object], ...] = (
    ("NoNewPrivileges", True),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("ProtectSystem", "strict"),
    ("ProtectHome", True),
    ("PrivateTmp", True),
    ("PrivateDevices", True),
    ("DevicePolicy", "closed"),
    ("PrivateUsers", None),  # from the host's probe (systemd_sandbox_facts)
    ("ProtectKernelTunables", True),
    ("ProtectKernelModules", True),
    ("ProtectKernelLogs", True),
    ("ProtectControlGroups", True),
    ("ProtectClock", True),
    ("ProtectHostname", True),
    ("ProtectProc", "invisible"),
    ("ProcSubset", "pid"),
    ("RestrictNamespaces", True),
    ("RestrictRealtime", True),
    ("RestrictSUIDSGID", True),
    ("LockPersonality", True),
    ("MemoryDenyWriteExecute", True),
    ("RemoveIPC", True),
    ("KeyringMode", "private"),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", ["@system-service", "~@privileged @resources"]),
    # A call outside the filter fails with EPERM instead of killing the service.
    ("SystemCallErrorNumber", "EPERM"),
    ("UMask", "0077"),
)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, str)):
        return str(value)
    raise AnsibleFilterError(
        f"systemd_sandbox: {value!r} is not a directive value (a string, number or boolean)"
    )


def systemd_sandbox(settings: Mapping | None = None, host: Mapping | None = None) -> str:
    """The sandboxing lines of a unit's ``[Service]`` section.

    ``settings`` changes the profile by directive name: a value replaces the profile's,
    a list writes the directive once per item, None leaves the directive out, and a
    name the profile lacks is added after it. ``host`` is the host's
    ``djangoprod_systemd_sandbox`` fact (PrivateUsers= only where the host supports it).
    """
    settings = dict(settings or {})
    if not isinstance(settings, dict) or not all(isinstance(k, str) and k for k in settings):
        raise AnsibleFilterError("systemd_sandbox: settings must map directive names to values")
    if host is None or "private_users" not in host:
        raise AnsibleFilterError(
            "systemd_sandbox: the host's djangoprod_systemd_sandbox fact is missing "
            "(run djangoprod.stack.systemd_sandbox_facts first)"
        )
    directives = dict(PROFILE)
    directives["PrivateUsers"] = bool(host["private_users"])
    directives.update(settings)
    lines = []
    for name, value in directives.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{name}={_value(item)}")
    return "\n".join(lines)


class FilterModule:
    """djangoprod.stack systemd filters."""

    def filters(self) -> dict[str, object]:
        return {"systemd_sandbox": systemd_sandbox}
