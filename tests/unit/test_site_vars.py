"""What playbooks/vars/site.yml derives from the inventory groups, for real.

Each case is an inventory of hosts that are never contacted (local connection, no
fact gathering): a first play gives them the one fact the wiring reads (the address
of their default route) as a fact cache would, then ansible-playbook prints every
djangoprod_site_* value for every host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "database_server",
    "database_host",
    "database_remote",
    "app_clients",
    "cache_backend",
    "cache_location",
    "web",
    "has_app",
    "app_socket",
    "static_root",
    "media_root",
    "media_s3",
    "tls_mode",
    "lb_backends",
    "backup",
    "backup_repository_address",
    "backup_ssh_peers",
    "database_data_directory",
    "monitoring",
    "exporter_jobs",
    "exporters_address",
    "exporter_firewall",
    "monitoring_targets",
    "monitoring_sources",
]
PLAY = """
- name: Give each host the address of its default route
  hosts: all
  gather_facts: false
  tasks:
    - name: Facts
      ansible.builtin.set_fact:
        default_ipv4: {{address: "{{{{ test_address }}}}"}}
        cacheable: true
      when: test_address is defined

- name: Show what the groups derive
  hosts: all
  gather_facts: false
  vars_files:
    - {vars}
  tasks:
    - name: Derived
      ansible.builtin.debug:
        msg: "{{{{ {{ {items} }} }}}}"
"""


def derive(tmp_path: Path, groups: dict[str, list[str]], addresses: dict[str, str], **host_vars) -> dict:
    """djangoprod_site_* (without the prefix) for each host of an inventory of `groups`."""
    hosts = sorted({h for members in groups.values() for h in members} | set(addresses))
    inventory = {
        "all": {
            "hosts": {
                h: {
                    "ansible_connection": "local",
                    **({"test_address": addresses[h]} if h in addresses else {}),
                    **host_vars.get(h, {}),
                }
                for h in hosts
            },
            "vars": {"ansible_python_interpreter": sys.executable, **host_vars.get("all", {})},
            "children": {g: {"hosts": {h: None for h in members}} for g, members in groups.items()},
        }
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    items = ", ".join(f"'{n}': djangoprod_site_{n}" for n in NAMES)
    (tmp_path / "play.yml").write_text(PLAY.format(vars=ROOT / "playbooks/vars/site.yml", items=items))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_CACHE_PLUGIN": "memory",
        "ANSIBLE_GATHERING": "explicit",
    }
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run(
        [playbook, "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)["plays"][1]["tasks"][0]["hosts"]
    return {host: result["msg"] for host, result in results.items()}


ALL_GROUPS = ["webservers", "dbservers", "cacheservers"]


def test_one_host_keeps_everything_on_sockets_and_loopback(tmp_path):
    site = derive(
        tmp_path,
        {g: ["vps"] for g in ALL_GROUPS},
        {"vps": "203.0.113.10"},
        all={"djangoprod_project": "shop", "djangoprod_source_path": "/src/shop"},
    )["vps"]
    assert site["database_host"] == ""  # the unix socket, peer authentication
    assert site["database_remote"] is False
    assert site["app_clients"] == []  # no service port opens to anyone
    assert site["cache_backend"] == "redis"
    assert site["cache_location"] == "redis://127.0.0.1:6379/0"
    assert site["web"] is True
    assert site["app_socket"] == "/run/gunicorn-shop.sock"
    assert site["static_root"] == "/srv/shop/shared/static"
    assert site["lb_backends"] == []


CLUSTER = {
    "loadbalancers": ["lb"],
    "webservers": ["web1", "web2"],
    "workers": ["worker"],
    "dbservers": ["db"],
    "cacheservers": ["cache"],
}
CLUSTER_ADDRESSES = {
    "lb": "10.0.0.2",
    "web1": "10.0.0.21",
    "web2": "10.0.0.12",
    "worker": "10.0.0.30",
    "db": "10.0.0.40",
    "cache": "10.0.0.50",
}


def test_a_cluster_reaches_its_servers_by_address_and_opens_ports_to_app_hosts_only(tmp_path):
    site = derive(tmp_path, CLUSTER, CLUSTER_ADDRESSES, all={"djangoprod_project": "shop"})
    app_hosts = ["10.0.0.12/32", "10.0.0.21/32", "10.0.0.30/32"]  # sorted, never the lb
    assert site["db"]["app_clients"] == app_hosts
    assert site["cache"]["app_clients"] == app_hosts
    for host in ("web1", "web2", "worker"):
        assert site[host]["database_host"] == "10.0.0.40"
        assert site[host]["database_remote"] is True
        assert site[host]["cache_location"] == "redis://10.0.0.50:6379/0"
    assert site["web1"]["web"] is True
    assert site["worker"]["web"] is False
    assert site["lb"]["lb_backends"] == ["10.0.0.21:443", "10.0.0.12:443"]
    assert site["web1"]["lb_backends"] == []
    # no code yet: the web servers show nginx's placeholder, not a socket
    assert site["web1"]["has_app"] is False
    assert site["web1"]["app_socket"] == ""


def test_behind_load_balancers_acme_is_theirs_and_the_web_servers_sign_their_own(tmp_path):
    site = derive(tmp_path, CLUSTER, CLUSTER_ADDRESSES, all={"nginx_tls_mode": "acme"})
    assert site["lb"]["tls_mode"] == "acme"
    assert site["web1"]["tls_mode"] == site["web2"]["tls_mode"] == "self_signed"
    # provided certificates stay; without load balancers the web servers ask the CA
    site = derive(tmp_path / "provided", CLUSTER, CLUSTER_ADDRESSES, all={"nginx_tls_mode": "provided"})
    assert site["web1"]["tls_mode"] == "provided"
    groups = {k: v for k, v in CLUSTER.items() if k != "loadbalancers"}
    site = derive(tmp_path / "alone", groups, CLUSTER_ADDRESSES, all={"nginx_tls_mode": "acme"})
    assert site["web1"]["tls_mode"] == "acme"
    site = derive(tmp_path / "default", CLUSTER, CLUSTER_ADDRESSES)
    assert site["web1"]["tls_mode"] == site["lb"]["tls_mode"] == "self_signed"


def test_uploads_in_a_bucket_leave_nginx_no_media_directory(tmp_path):
    code = {"djangoprod_project": "shop", "djangoprod_source_path": "/src/shop"}
    site = derive(tmp_path, CLUSTER, CLUSTER_ADDRESSES, all=code)
    assert (site["web1"]["media_root"], site["web1"]["media_s3"]) == ("/srv/shop/shared/media", False)
    bucket = {"bucket": "m", "endpoint": "s3.example.com", "key": "k", "secret": "s"}
    site = derive(tmp_path / "s3", CLUSTER, CLUSTER_ADDRESSES, all={**code, "djangoprod_media_s3": bucket})
    assert (site["web1"]["media_root"], site["web1"]["media_s3"]) == ("", True)
    assert site["web1"]["static_root"] == "/srv/shop/shared/static"


def test_private_addresses_win_over_the_default_route(tmp_path):
    site = derive(
        tmp_path,
        CLUSTER,
        CLUSTER_ADDRESSES,
        db={"postgresql_private_address": "192.168.1.40"},
        cache={"redis_private_address": "192.168.1.50", "redis_port": 6380},
    )
    assert site["web1"]["database_host"] == "192.168.1.40"
    assert site["web1"]["cache_location"] == "redis://192.168.1.50:6380/0"


@pytest.mark.parametrize(
    ("switches", "backend", "location"),
    [
        ({"djangoprod_redis": False}, "memcached", "10.0.0.50:11211"),
        ({"djangoprod_redis": False, "djangoprod_memcached": False}, "locmem", ""),
    ],
)
def test_the_cache_backend_follows_what_the_cache_servers_run(tmp_path, switches, backend, location):
    site = derive(tmp_path, CLUSTER, CLUSTER_ADDRESSES, all=switches)
    assert site["web1"]["cache_backend"] == backend
    assert site["web1"]["cache_location"] == location


def test_without_cache_servers_each_process_caches_in_memory(tmp_path):
    groups = {**CLUSTER, "cacheservers": []}
    site = derive(tmp_path, groups, CLUSTER_ADDRESSES)
    assert site["web1"]["cache_backend"] == "locmem"
    groups = {k: v for k, v in CLUSTER.items() if k != "cacheservers"}
    site = derive(tmp_path / "none", groups, CLUSTER_ADDRESSES)
    assert site["web1"]["cache_backend"] == ""  # the app role's own default


def test_backups_go_to_the_backup_host_with_ssh_between_the_two_only(tmp_path):
    groups = {**CLUSTER, "backupservers": ["backup"]}
    addresses = {**CLUSTER_ADDRESSES, "backup": "10.0.0.60"}
    site = derive(tmp_path, groups, addresses, all={"djangoprod_project": "shop"})
    assert site["db"]["backup"] is True
    assert site["db"]["backup_repository_address"] == "10.0.0.60"
    assert site["db"]["backup_ssh_peers"] == ["10.0.0.60/32"]
    assert site["backup"]["backup_ssh_peers"] == ["10.0.0.40/32"]
    assert site["web1"]["backup_ssh_peers"] == []
    assert site["db"]["database_data_directory"] == "/var/lib/postgresql/15/main"


def test_without_a_backup_host_the_database_server_keeps_its_backups(tmp_path):
    site = derive(
        tmp_path,
        CLUSTER,
        CLUSTER_ADDRESSES,
        all={"djangoprod_project": "shop"},
        db={"postgresql_version": "16"},
    )
    assert site["db"]["backup"] is True
    assert site["db"]["backup_repository_address"] == ""
    assert site["db"]["backup_ssh_peers"] == []
    assert site["web1"]["database_data_directory"] == "/var/lib/postgresql/16/main"


def test_backups_can_be_switched_off(tmp_path):
    groups = {**CLUSTER, "backupservers": ["backup"]}
    addresses = {**CLUSTER_ADDRESSES, "backup": "10.0.0.60"}
    site = derive(tmp_path, groups, addresses, all={"djangoprod_project": "shop", "djangoprod_backup": False})
    assert site["db"]["backup"] is False
    assert site["db"]["backup_ssh_peers"] == [] and site["backup"]["backup_ssh_peers"] == []


def test_monitoring_scrapes_every_host_and_only_it_reaches_the_exporters(tmp_path):
    groups = {**CLUSTER, "monitoring": ["mon"]}
    addresses = {**CLUSTER_ADDRESSES, "mon": "10.0.0.70"}
    site = derive(
        tmp_path, groups, addresses, all={"djangoprod_project": "shop", "djangoprod_source_path": "/src"}
    )
    assert site["db"]["exporter_jobs"] == ["node", "postgres"]
    assert site["cache"]["exporter_jobs"] == ["node", "redis"]
    assert site["web1"]["exporter_jobs"] == ["node", "nginx", "nginx_status_codes"]
    assert site["lb"]["exporter_jobs"] == ["node", "nginx", "nginx_status_codes"]
    assert site["worker"]["exporter_jobs"] == ["node"]
    assert site["db"]["exporters_address"] == "10.0.0.40"
    assert site["db"]["exporter_firewall"] == [
        {"port": 9100, "sources": ["10.0.0.70/32"]},
        {"port": 9187, "sources": ["10.0.0.70/32"]},
    ]
    # Prometheus reaches its own host's exporters on loopback.
    assert site["mon"]["exporters_address"] == "127.0.0.1"
    assert site["mon"]["exporter_firewall"] == []
    targets = site["mon"]["monitoring_targets"]
    assert {"job": "postgres", "targets": ["10.0.0.40:9187"], "labels": {"host": "db"}} in targets
    assert {"job": "node", "targets": ["127.0.0.1:9100"], "labels": {"host": "mon"}} in targets
    assert {"job": "redis", "targets": ["10.0.0.50:9121"], "labels": {"host": "cache"}} in targets
    assert sorted(t["labels"]["host"] for t in targets if t["job"] == "node") == sorted(addresses)
    assert len(targets) == 7 + 1 + 1 + 2 * 3  # node everywhere, postgres, redis, nginx + mtail on 3


def test_one_host_watching_itself_keeps_the_exporters_on_loopback(tmp_path):
    site = derive(
        tmp_path,
        {g: ["vps"] for g in [*ALL_GROUPS, "monitoring"]},
        {"vps": "203.0.113.10"},
        all={"djangoprod_project": "shop", "djangoprod_source_path": "/src/shop", "djangoprod_redis": False},
    )["vps"]
    assert site["exporters_address"] == "127.0.0.1"
    assert site["exporter_firewall"] == []
    assert site["exporter_jobs"] == ["node", "postgres", "nginx", "nginx_status_codes"]
    assert {t["targets"][0].split(":")[0] for t in site["monitoring_targets"]} == {"127.0.0.1"}


def test_without_a_monitoring_host_nothing_is_watched(tmp_path):
    for extra in ({}, {"djangoprod_monitoring": False}):
        groups = {**CLUSTER, "monitoring": ["mon"] if extra else []}
        site = derive(
            tmp_path / str(len(extra)),
            groups,
            {**CLUSTER_ADDRESSES, "mon": "10.0.0.70"},
            all={"djangoprod_project": "shop", **extra},
        )
        assert site["db"]["monitoring"] is False
        assert site["db"]["exporter_jobs"] == [] and site["db"]["exporter_firewall"] == []


def test_request_metrics_add_the_web_servers_app_to_the_targets(tmp_path):
    groups = {**CLUSTER, "monitoring": ["mon"]}
    addresses = {**CLUSTER_ADDRESSES, "mon": "10.0.0.70"}
    site = derive(
        tmp_path,
        groups,
        addresses,
        all={
            "djangoprod_project": "shop",
            "djangoprod_source_path": "/src",
            "djangoprod_request_metrics": True,
        },
    )
    assert site["web1"]["exporter_jobs"] == ["node", "nginx", "nginx_status_codes", "django"]
    assert site["lb"]["exporter_jobs"] == ["node", "nginx", "nginx_status_codes"]
    assert site["worker"]["exporter_jobs"] == ["node"]
    assert {"port": 9180, "sources": ["10.0.0.70/32"]} in site["web1"]["exporter_firewall"]
    assert site["web1"]["monitoring_sources"] == ["10.0.0.70"]
    targets = site["mon"]["monitoring_targets"]
    assert {"job": "django", "targets": ["10.0.0.21:9180"], "labels": {"host": "web1"}} in targets
