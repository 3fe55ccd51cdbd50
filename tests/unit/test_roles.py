"""Repository rules every role keeps: documented inputs, argument specs that match
the defaults, generated READMEs up to date, and a molecule scenario of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def spec_options(role: str) -> dict:
    return (
        load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]["main"].get("options") or {}
    )


def test_there_are_roles() -> None:
    assert "nginx" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_role_has_its_parts(role: str) -> None:
    base = ROOT / "roles" / role
    for part in (
        "tasks/main.yml",
        "meta/main.yml",
        "meta/argument_specs.yml",
        "defaults/main.yml",
        "README.md",
    ):
        assert (base / part).is_file(), f"roles/{role}/{part} is missing"
    assert (ROOT / "molecule" / role / "molecule.yml").is_file(), f"role {role} has no molecule scenario"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_an_argument_spec_and_the_reverse(role: str) -> None:
    defaults = load(ROOT / "roles" / role / "defaults/main.yml")
    options = spec_options(role)
    assert set(defaults) - set(options) == set(), "defaults without argument spec"
    optional = {name for name, opt in options.items() if not opt.get("required")}
    assert optional - set(defaults) == set(), "optional argument specs without a default"


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_equal_the_defaults(role: str) -> None:
    defaults = load(ROOT / "roles" / role / "defaults/main.yml")
    for name, opt in spec_options(role).items():
        if name in defaults:
            assert opt.get("default") == defaults[name], f"{role}: {name} default differs"


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role: str) -> None:
    for name in load(ROOT / "roles" / role / "defaults/main.yml"):
        assert name.startswith(f"{role}_"), f"{role}: {name} lacks the {role}_ prefix"


def test_role_readmes_match_their_argument_specs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/tools/role_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_every_play_runs_its_handlers_after_a_failure(playbook: Path) -> None:
    # Set on the plays, not only in ansible.cfg: users of the installed collection run
    # them under their own configuration.
    plays = [play for play in yaml.safe_load(playbook.read_text()) if "hosts" in play]
    assert plays
    assert [play["name"] for play in plays if play.get("force_handlers") is not True] == []


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://oauth2:glpat-s3cret@gitlab.example.com/shop.git", "https://gitlab.example.com/shop.git"),
        ("https://x-access-token:ghs_abc@github.com/example/shop.git", "https://github.com/example/shop.git"),
        ("ssh://git@git.example.com:2222/shop.git", "ssh://git.example.com:2222/shop.git"),
        ("git@github.com:example/shop.git", "git@github.com:example/shop.git"),
        ("https://github.com/example/shop.git", "https://github.com/example/shop.git"),
        ("file:///srv/git/shop.git", "file:///srv/git/shop.git"),
    ],
)
def test_a_repository_url_is_recorded_without_its_credentials(url: str, recorded: str) -> None:
    import re

    pattern = load(ROOT / "roles/app/vars/main.yml")["__app_url_credentials"]
    assert re.sub(pattern, r"\1", url) == recorded
