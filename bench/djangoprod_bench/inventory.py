"""The inventories bench/run writes, and copies of the example project to deploy."""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import CLUSTER, EXAMPLE, OUT, SINGLE, key

COMMON_VARS = """ansible_user: root
ansible_ssh_private_key_file: {key}
ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
base_admin_ssh_keys: ["{pubkey}"]
djangoprod_project: guestbook
djangoprod_domains: ["{domain}"]
djangoprod_source_path: "{source}"
app_django_settings: guestbook.settings
app_pip_ca_bundle: /etc/ssl/certs/ca-certificates.crt
"""


def write_inventory(path: Path, hosts: str, domain: str, source: Path, extra: str = "") -> Path:
    shutil.rmtree(path, ignore_errors=True)
    (path / "group_vars").mkdir(parents=True)
    (path / "hosts.yml").write_text(hosts)
    pubkey = Path(key() + ".pub").read_text().strip()
    (path / "group_vars/all.yml").write_text(
        COMMON_VARS.format(key=key(), pubkey=pubkey, domain=domain, source=source) + extra
    )
    return path


def single_inventory(source: Path, extra: str = "") -> Path:
    hosts = f"""all:
  hosts:
    bench:
      ansible_host: {SINGLE["ip"]}
  children:
    webservers: {{hosts: {{bench: }}}}
    dbservers: {{hosts: {{bench: }}}}
    cacheservers: {{hosts: {{bench: }}}}
"""
    return write_inventory(OUT / "inventory", hosts, SINGLE["ip"], source, extra)


def cluster_inventory(source: Path) -> Path:
    hosts = "all:\n  hosts:\n" + "".join(f"    {n}: {{ansible_host: {ip}}}\n" for n, ip in CLUSTER.items())
    hosts += """  children:
    loadbalancers: {hosts: {lb: }}
    webservers: {hosts: {web1: , web2: }}
    dbservers: {hosts: {data: }}
    cacheservers: {hosts: {data: }}
"""
    return write_inventory(OUT / "inventory-cluster", hosts, CLUSTER["lb"], source)


def project_copy(
    name: str, greeting: str | None = None, requirement: str | None = None, static_files: int = 0
) -> Path:
    """A copy of the example project, with another greeting, one more requirement, or
    `static_files` more static files (stylesheets and scripts of a few KB, as a real
    project's front end and its admin-like apps have)."""
    copy = OUT / "sources" / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    if greeting:
        settings = copy / "guestbook/settings.py"
        settings.write_text(settings.read_text().replace("Welcome to the guestbook", greeting))
    if requirement:
        with (copy / "requirements.txt").open("a") as requirements:
            requirements.write(f"{requirement}\n")
    if static_files:
        assets = copy / "entries/static/entries/bench"
        assets.mkdir(parents=True)
        for n in range(static_files):
            if n % 2:
                rule = ".bench-{n}-{i} {{ margin: {i}px; color: #{colour:06x}; }}\n"
                body = "".join(rule.format(n=n, i=i, colour=n * 7919 % 0xFFFFFF) for i in range(60))
                (assets / f"style-{n}.css").write_text(body)
            else:
                line = "export function bench{n}_{i}(x) {{ return x * {i} + {n}; }}\n"
                body = "".join(line.format(n=n, i=i) for i in range(60))
                (assets / f"module-{n}.js").write_text(body)
    return copy
