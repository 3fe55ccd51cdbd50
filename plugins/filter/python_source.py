# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: YAML data rendered as Python source for a generated Django settings module."""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

_INDENT = "    "


def _where(path: str) -> str:
    return path or "the value"


def _literal(value: object, path: str, depth: int) -> str:
    # bool first: True is also an int.
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnsibleFilterError(f"{_where(path)}: {value!r} has no Python literal; use a finite number")
        return repr(float(value))
    if isinstance(value, str):
        # repr() of a str is always a valid, fully escaped Python literal
        # (quotes, backslashes, newlines, NUL and any unicode).
        return repr(str(value))
    if isinstance(value, Mapping):
        return _mapping(value, path, depth)
    if isinstance(value, tuple):
        items = [_literal(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
        if len(items) == 1:
            return f"({items[0]},)"
        return _block("(", ")", items, depth)
    if isinstance(value, list):
        items = [_literal(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
        return _block("[", "]", items, depth)
    raise AnsibleFilterError(
        f"{_where(path)}: a {type(value).__name__} cannot be written to Python settings; "
        "use a string, number, boolean, null, list, tuple or mapping"
    )


def _mapping(value: Mapping, path: str, depth: int) -> str:
    items = []
    for key, item in value.items():
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            kind = type(key).__name__
            raise AnsibleFilterError(
                f"{_where(path)}: key {key!r} is a {kind}; mapping keys must be strings or integers"
            )
        child = f"{path}.{key}" if path else str(key)
        items.append(f"{_literal(key, child, depth + 1)}: {_literal(item, child, depth + 1)}")
    return _block("{", "}", items, depth)


def _block(opening: str, closing: str, items: list[str], depth: int) -> str:
    if not items:
        return opening + closing
    inner = _INDENT * (depth + 1)
    lines = "".join(f"{inner}{item},\n" for item in items)
    return f"{opening}\n{lines}{_INDENT * depth}{closing}"


def python_literal(value: object, name: str = "") -> str:
    """`value` as Python source that evaluates to an equal value."""
    return _literal(value, str(name), 0)


def python_settings(settings: object) -> str:
    """A mapping of setting names to values as `NAME = <literal>` lines, sorted by name."""
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(
            f"python_settings needs a mapping of setting names, got a {type(settings).__name__}"
        )
    lines = []
    for name in sorted(settings, key=str):
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise AnsibleFilterError(f"{name!r} is not a valid Python name for a setting")
        if not name.isupper():
            raise AnsibleFilterError(
                f"{name}: Django only reads upper-case settings; write it as {name.upper()}"
            )
        lines.append(f"{name} = {_literal(settings[name], name, 0)}\n")
    return "".join(lines)


class FilterModule:
    def filters(self) -> dict:
        return {"python_literal": python_literal, "python_settings": python_settings}
