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


# Entry points that act rather than converge (drain a backend, show releases...): their
# tasks run on their own, never picked by phase.
ACTIONS = {
    ("nginx", "drain"),
    ("nginx", "maintenance"),
    ("nginx", "backend"),
    ("app", "rollback"),
    ("app", "releases"),
}
PHASES = ("install", "configure", "service")


def untagged_tasks(role: str, directory: Path, tasks: list, inherited: frozenset, seen: tuple) -> list[str]:
    """Tasks (and what they import or include) that no phase tag of `role` reaches, as
    Ansible inherits tags: from the importing task, the enclosing blocks and an include's
    `apply`, never from the include's own tags."""
    wanted = {f"{role}_{phase}" for phase in PHASES} | {"always"}
    found = []
    for task in tasks:
        tags = inherited | frozenset(task.get("tags") or [])
        blocks = [key for key in ("block", "rescue", "always") if key in task]
        for key in blocks:
            found += untagged_tasks(role, directory, task[key], tags, seen)
        if blocks:
            continue
        module = next((k for k in task if k.endswith(("import_tasks", "include_tasks"))), None)
        # (an import is not a task: what it imports is)
        if not tags & wanted and not (module and module.endswith("import_tasks")):
            found.append(f"{seen[-1]}: {task.get('name')}")
        if module and module.endswith("import_tasks"):
            found += untagged_tasks(
                role, directory, load_list(directory / task[module]), tags, (*seen, task[module])
            )
        elif module:
            spec = task[module] if isinstance(task[module], dict) else {"file": task[module]}
            into = inherited | frozenset((spec.get("apply") or {}).get("tags") or [])
            if spec["file"] not in seen:
                found += untagged_tasks(
                    role, directory, load_list(directory / spec["file"]), into, (*seen, spec["file"])
                )
    return found


def load_list(path: Path) -> list:
    return yaml.safe_load(path.read_text()) or []


@pytest.mark.parametrize("role", ROLES)
def test_every_task_carries_a_phase_tag_of_its_role(role: str) -> None:
    # --tags <role>_install / _configure / _service run one phase of a role; checks and
    # locks carry all three (a run of any phase checks its inputs).
    entries = load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]
    untagged = []
    for entry in entries:
        if (role, entry) in ACTIONS:
            continue
        tasks = ROOT / "roles" / role / "tasks"
        untagged += untagged_tasks(
            role, tasks, load_list(tasks / f"{entry}.yml"), frozenset(), (f"{entry}.yml",)
        )
    assert untagged == [], f"{role}: tasks without a {role}_install/_configure/_service tag: {untagged}"


SITE_INVENTORY = """
all:
  hosts:
    h1: {ansible_connection: local}
  children:
    webservers: {hosts: {h1: }}
    workers: {hosts: {h1: }}
    dbservers: {hosts: {h1: }}
    cacheservers: {hosts: {h1: }}
    loadbalancers: {hosts: {h1: }}
    backupservers: {hosts: {h1: }}
    monitoring: {hosts: {h1: }}
"""


@pytest.mark.parametrize("tag", ["nginx_configure", "postgresql_service", "base_install", "app_install"])
def test_a_phase_tag_runs_that_phase_of_that_role_and_the_sites_checks(tag: str, tmp_path: Path) -> None:
    # What ansible-playbook itself selects from site.yml with --tags (the static tasks).
    (tmp_path / "hosts.yml").write_text(SITE_INVENTORY)
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         str(ROOT / "playbooks/site.yml"), "--list-tasks", "--tags", tag],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    role = tag.rsplit("_", 1)[0]
    tasks = [
        line.strip() for line in listing.splitlines() if "\tTAGS: [" in line and not line.startswith("  play")
    ]
    assert tasks
    of_role = [task for task in tasks if task.startswith(f"djangoprod.stack.{role} : ")]
    assert any(tag in task.split("TAGS: ")[1] for task in of_role), of_role
    for task in tasks:
        name, tags = task.split("\tTAGS: ")
        assert tag in tags or "always" in tags, task
        assert name.startswith(f"djangoprod.stack.{role} : ") or "always" in tags, task
