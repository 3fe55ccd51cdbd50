"""The collection as a user's infrastructure repo gets it: built, installed from the
artifact into a collections path, and its playbooks run by FQCN from another directory
with that directory's own ansible.cfg (a copy of inventories/example's: smart gathering
and a fact cache), against a fresh test host over SSH whose package lists are empty, as
on many cloud images. site.yml converges it with examples/pulse, an ASGI project nobody
shaped for the collection (settings from os.environ and dj-database-url,
requirements/production.txt, no health URL), deployed unmodified under uvicorn workers.
deploy, rollback and releases then run with the fact cache emptied before each, as from
a CI runner."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTHOST = ROOT / "tests/testhosts/testhost"
HOST = "djp-fqcn"
PULSE = ROOT / "examples" / "pulse"
NAME = "pulse.test"


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


@pytest.fixture(scope="module")
def user_dir(installed: Path, fresh_host: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An infrastructure repo of the user's: its ansible.cfg, its inventory, its project."""
    top = tmp_path_factory.mktemp("infra")
    shutil.copy(ROOT / "inventories/example/ansible.cfg", top / "ansible.cfg")
    for version in ("one", "two"):
        copy = top / f"pulse-{version}"
        shutil.copytree(PULSE, copy, ignore=shutil.ignore_patterns("__pycache__"))
        settings = copy / "pulse" / "settings.py"
        settings.write_text(
            settings.read_text().replace('PULSE_VERSION = "one"', f'PULSE_VERSION = "{version}"')
        )
    key = run([str(TESTHOST), "key"]).stdout.strip()
    (top / "hosts.yml").write_text(
        f"""all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: {key}
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    base_admin_ssh_keys: ["{Path(key + ".pub").read_text().strip()}"]
    djangoprod_project: pulse
    djangoprod_domains: [{NAME}]
    gunicorn_worker_class: uvicorn
    app_pip_ca_bundle: /etc/ssl/certs/ca-certificates.crt
  hosts:
    web1:
      ansible_host: {fresh_host}
  children:
    webservers: {{hosts: {{web1: }}}}
    dbservers: {{hosts: {{web1: }}}}
    cacheservers: {{hosts: {{web1: }}}}
"""
    )
    return top


def playbook(user_dir: Path, installed: Path, name: str, *extra: str) -> str:
    """ansible-playbook djangoprod.stack.<name> from the user's directory, with an empty
    fact cache (as on a CI runner)."""
    shutil.rmtree(user_dir / ".cache", ignore_errors=True)
    result = run(
        ["ansible-playbook", "-i", "hosts.yml", f"djangoprod.stack.{name}", *extra],
        cwd=user_dir,
        env=user_env(installed),
    )
    assert "failed=0" in result.stdout
    return result.stdout


def page(address: str, path: str = "/") -> tuple[int, bytes]:
    """GET over HTTPS with the site's name as SNI and Host, as a browser would."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(socket.create_connection((address, 443), timeout=10), server_hostname=NAME)
    connection = http.client.HTTPSConnection(address, 443, context=ctx, timeout=10)
    connection.sock = sock
    try:
        connection.request("GET", path, headers={"Host": NAME})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def host_run(command: str) -> str:
    return run(["docker", "exec", HOST, "sh", "-c", command]).stdout


def manage(*args: str) -> str:
    return host_run(" ".join(["/usr/local/sbin/pulse-manage", *(f"'{a}'" for a in args)]))


def test_an_asgi_project_deploys_unmodified_by_fqcn_on_a_host_without_package_lists(
    installed, user_dir, fresh_host
):
    emptied = host_run("rm -rf /var/lib/apt/lists/* && ls /var/lib/apt/lists | wc -l")
    assert emptied.strip() == "0"
    playbook(user_dir, installed, "site", "-e", f"djangoprod_source_path={user_dir / 'pulse-one'}")
    assert int(host_run("ls /var/lib/apt/lists | grep -c _Packages || true").strip() or 0) > 0

    status, body = page(fresh_host, "/beat/")
    assert status == 200, body
    status, body = page(fresh_host)
    answer = json.loads(body)
    assert status == 200 and answer["version"] == "one" and answer["beats"] == 1
    # an async view, on uvicorn's event loop
    assert "Loop" in answer["event_loop"]
    # as the app, with its environment: the project's own check is clean, DEBUG off
    check = manage("check", "--deploy")
    assert "no issues" in check, check
    debug = manage("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert debug.strip() == "False"
    secret_key = host_run("cat /etc/djangoprod/pulse/secret_key").strip()
    assert len(secret_key) == 64 and secret_key not in host_run("systemctl show gunicorn-pulse.service")


def test_deploy_rollback_and_releases_run_with_no_fact_cache(installed, user_dir, fresh_host):
    playbook(user_dir, installed, "deploy", "-e", f"djangoprod_source_path={user_dir / 'pulse-two'}")
    assert json.loads(page(fresh_host)[1])["version"] == "two"
    playbook(user_dir, installed, "rollback", "-e", f"djangoprod_source_path={user_dir / 'pulse-two'}")
    assert json.loads(page(fresh_host)[1])["version"] == "one"
    output = playbook(user_dir, installed, "releases")
    assert output.count(" built ") >= 2 and "rollback by" in output
