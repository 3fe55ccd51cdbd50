# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test: would a dry-run file task change its file."""

from __future__ import annotations


def pending_change(result: object) -> bool:
    """True when the registered result of a check-mode file task (run with diff) shows
    content that differs from what is on disk, or a file that does not exist yet."""
    if not isinstance(result, dict) or result.get("skipped"):
        return False
    for diff in result.get("diff") or []:
        if isinstance(diff, dict) and "after" in diff and diff.get("before", "") != diff["after"]:
            return True
    return False


class TestModule:
    """djangoprod.stack change tests."""

    def tests(self) -> dict[str, object]:
        return {"pending_change": pending_change}
