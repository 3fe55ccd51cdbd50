# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: failure output made readable, and what a failed source build most likely lacks."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.module_utils.diagnostics import missing_package_hint
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import tail


def build_hint(output: object) -> str:
    """A sentence naming app_build_packages and the Debian package a failed build most
    likely needs, or an empty string when the output shows no known missing piece."""
    if not isinstance(output, str):
        raise AnsibleFilterError(
            f"build_hint: expected the installer's output as a string, got {type(output)}"
        )
    return missing_package_hint(output)


def tail_text(text: object, limit: int = 2000) -> str:
    """The end of a command's output, where the cause is: whole lines cut from the top."""
    if not isinstance(text, str):
        raise AnsibleFilterError(f"tail_text: expected a string, got {type(text)}")
    if not isinstance(limit, int) or limit < 1:
        raise AnsibleFilterError(f"tail_text: limit must be a positive number of characters, got {limit!r}")
    return tail(text, limit)


class FilterModule:
    """djangoprod.stack diagnostics filters."""

    def filters(self) -> dict[str, object]:
        return {"build_hint": build_hint, "tail_text": tail_text}
