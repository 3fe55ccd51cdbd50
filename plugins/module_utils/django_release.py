# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the modules that run a release's Django: parsing what it prints."""

from __future__ import annotations

import json
import re

_LEVELS = {"C": "CRITICAL", "E": "ERROR", "W": "WARNING", "I": "INFO", "D": "DEBUG"}
_ISSUE = re.compile(
    r"^(?P<object>.*?): \((?P<id>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\.(?P<level>[CEWID])\d+)\) (?P<message>.*)$"
)
_HINT = re.compile(r"^\s+HINT: (?P<hint>.*)$")
_SUMMARY = re.compile(r"^System check identified|^SystemCheckError:|^[A-Z]+S:$")

MARKER = "DJANGOPROD-JSON:"


def parse_check_output(text: str) -> list[dict]:
    """The issues `manage.py check` printed, as dicts: id, level, object, message, hint."""
    issues: list[dict] = []
    current: dict | None = None
    for line in text.splitlines():
        match = _ISSUE.match(line)
        if match:
            current = {
                "id": match["id"],
                "level": _LEVELS[match["level"]],
                "object": match["object"],
                "message": match["message"],
                "hint": None,
            }
            issues.append(current)
            continue
        hint = _HINT.match(line)
        if hint and current is not None:
            current["hint"] = hint["hint"]
            continue
        if not line.strip() or _SUMMARY.match(line):
            current = None
        elif current is not None:
            # A message that spans lines.
            key = "hint" if current["hint"] is not None else "message"
            current[key] = f"{current[key]}\n{line}"
    return issues


def tail(text: str, limit: int = 2000) -> str:
    """The end of a command's output, where a traceback says what went wrong: whole lines
    cut from the top when it is longer than `limit` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    if 0 <= newline < len(cut) - 1:
        cut = cut[newline + 1 :]
    return "[...]\n" + cut


def parse_marked_json(text: str) -> object:
    """The JSON a snippet printed after MARKER (the last such line)."""
    for line in reversed(text.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise ValueError("no result line in the output")
