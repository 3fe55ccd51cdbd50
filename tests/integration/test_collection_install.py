"""The collection as a user's infrastructure repo gets it: built, installed from the
artifact into a collections path, and its site playbook run by FQCN from another
directory against a fresh test host over SSH, then checked over HTTPS."""

from __future__ import annotations

import os
import ssl
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTHOST = ROOT / "tests/testhosts/testhost"
HOST = "djp-fqcn"


def user_env(collections: Path) -> dict[str, str]:
    """An environment with none of the clone's settings: only the installed collection."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(ROOT)])
    (tarball,) = out.glob("djangoprod-stack-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def installed(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    collections = tmp_path_factory.mktemp("collections")
    # --no-deps: Galaxy is unreachable here; the dependencies come from the `ansible`
    # package in the venv, which ansible finds on its own. Run from outside the clone,
    # whose ansible.cfg would show the clone itself as already installed.
    run(
        ["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(collections), str(artifact)],
        cwd=collections,
        env=user_env(collections),
    )
    assert (collections / "ansible_collections/djangoprod/stack/MANIFEST.json").is_file()
    return collections


@pytest.fixture(scope="module")
def fresh_host() -> Iterator[str]:
    address = run([str(TESTHOST), "up", HOST, "debian12", HOST]).stdout.strip().splitlines()[-1]
    yield address
    subprocess.run([str(TESTHOST), "down", HOST], check=False)
    subprocess.run(["docker", "network", "rm", HOST], check=False, capture_output=True)


def test_artifact_leaves_out_tests_and_local_state(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        top = {name.split("/", 1)[0] for name in tar.getnames()}
        names = set(tar.getnames())
    assert {"roles", "playbooks", "plugins", "meta", "site.yml", "README.md"} - top == set()
    assert "MANIFEST.json" in names
    assert "playbooks/site.yml" in names
    assert "roles/nginx/meta/argument_specs.yml" in names
    leaked = top & {"tests", "molecule", ".venv", ".cache", ".collections", ".git", "bench", ".ci", ".config"}
    assert not leaked


def test_installed_collection_is_the_one_ansible_uses(installed: Path, tmp_path: Path) -> None:
    out = run(
        ["ansible-galaxy", "collection", "list", "djangoprod.stack", "--format", "yaml"],
        cwd=tmp_path,
        env=user_env(installed),
    ).stdout
    assert str(installed) in out


def test_site_playbook_runs_by_fqcn_from_another_directory(
    installed: Path, fresh_host: str, tmp_path: Path
) -> None:
    key = run([str(TESTHOST), "key"]).stdout.strip()
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        f"""all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: {key}
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    base_admin_ssh_keys: ["{Path(key + ".pub").read_text().strip()}"]
  children:
    webservers:
      hosts:
        web1:
          ansible_host: {fresh_host}
          nginx_server_names: [{fresh_host}]
"""
    )
    result = run(
        ["ansible-playbook", "-i", str(inventory), "djangoprod.stack.site"],
        cwd=tmp_path,
        env=user_env(installed),
    )
    assert "failed=0" in result.stdout

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://{fresh_host}/", context=ctx, timeout=10) as resp:
        assert resp.status == 200
        assert b"Converged by djangoprod.stack" in resp.read()
