#!/usr/bin/env python3
"""Keep each role's README variable table in step with its meta/argument_specs.yml.

role_docs.py --write   rewrite the tables between the markers
role_docs.py --check   exit 1 and list the READMEs that are out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml by tests/tools/role_docs.py) -->"
END = "<!-- END VARIABLES -->"


def _cell(text: object) -> str:
    # ansible-doc markup (C(), O(), V()) becomes code in markdown.
    text = re.sub(r"\b[COV]\(([^)]*)\)", r"`\1`", str(text))
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"


def variable_table(spec_file: Path) -> str:
    spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]
    rows = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, opt in (spec.get("options") or {}).items():
        kind = opt.get("type", "str")
        if kind == "list" and "elements" in opt:
            kind = f"list of {opt['elements']}"
        if "choices" in opt:
            kind += " (" + ", ".join(map(str, opt["choices"])) + ")"
        desc = opt.get("description", "")
        if isinstance(desc, list):
            desc = " ".join(desc)
        default = "required" if opt.get("required") else _default(opt.get("default"))
        rows.append(f"| `{name}` | {_cell(kind)} | {_cell(default)} | {_cell(desc)} |")
    return "\n".join(rows)


def render(readme: str, table: str) -> str:
    head, sep, rest = readme.partition(BEGIN)
    if not sep:
        raise SystemExit(f"missing marker {BEGIN!r}")
    _head, sep, tail = rest.partition(END)
    if not sep:
        raise SystemExit(f"missing marker {END!r}")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def roles() -> list[Path]:
    return sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for role in roles():
        readme = role / "README.md"
        current = readme.read_text() if readme.exists() else ""
        wanted = render(current, variable_table(role / "meta/argument_specs.yml"))
        if wanted != current:
            stale.append(readme)
            if args.write:
                readme.write_text(wanted)
    if stale and not args.write:
        print("out of date (run tests/tools/role_docs.py --write):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
