"""What users of the installed collection read and build: `ansible-doc -t role` renders
every role with each entry point and option of its argument specs, and the execution
environment definition (meta/execution-environment.yml) is one ansible-builder accepts
(`create`, no image build)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta/argument_specs.yml").is_file())
ENV = {
    **os.environ,
    "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
}


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_every_entry_point_and_option(role: str) -> None:
    out = subprocess.run(
        [BIN / "ansible-doc", "-t", "role", f"djangoprod.stack.{role}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    specs = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())["argument_specs"]
    for entry, spec in specs.items():
        assert re.search(rf"ENTRY POINT: \*?{re.escape(entry)}\*? - ", out.stdout), entry
        for option in spec.get("options") or {}:
            assert option in out.stdout, f"{role}/{entry}: {option}"


def test_the_execution_environment_definition_builds_a_context(tmp_path: Path) -> None:
    definition = ROOT / "meta" / "execution-environment.yml"
    context = tmp_path / "context"
    out = subprocess.run(
        [
            BIN / "ansible-builder",
            "create",
            "-f",
            definition,
            "-c",
            context,
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy" in containerfile and "pip" in containerfile
    spec = yaml.safe_load(definition.read_text())
    collections = {c["name"] for c in spec["dependencies"]["galaxy"]["collections"]}
    requirements = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    # The collection itself and every collection it needs (requirements.yml) are in it.
    assert collections == {"djangoprod.stack"} | {c["name"] for c in requirements}
    assert "ansible-core" in spec["dependencies"]["ansible_core"]["package_pip"]
