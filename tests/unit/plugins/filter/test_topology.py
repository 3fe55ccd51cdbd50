"""topology and topology_value: the site derived from the inventory groups, private
addresses first, and refused where it would name a host whose address is unknown.
(tests/unit/test_site_vars.py runs the same through ansible-playbook.)"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.topology import topology, topology_value

CLUSTER = {
    "loadbalancers": ["lb"],
    "webservers": ["web1", "web2"],
    "workers": ["worker"],
    "dbservers": ["db"],
    "cacheservers": ["cache"],
}
ADDRESSES = {
    "lb": "10.0.0.2",
    "web1": "10.0.0.21",
    "web2": "10.0.0.12",
    "worker": "10.0.0.30",
    "db": "10.0.0.40",
    "cache": "10.0.0.50",
}


def inventory(groups: dict, addresses: dict, **host_vars) -> tuple[dict, dict]:
    """`groups` with `all`, and each host's variables: its address as a gathered fact."""
    hosts = sorted({host for members in groups.values() for host in members} | set(addresses))
    hostvars = {
        host: {
            "inventory_hostname": host,
            **(
                {"ansible_facts": {"default_ipv4": {"address": addresses[host]}}} if host in addresses else {}
            ),
            **host_vars.get(host, {}),
        }
        for host in hosts
    }
    return {"all": hosts, **groups}, hostvars


def site(groups=None, addresses=None, settings=None, **host_vars) -> dict:
    inputs = inventory(groups or CLUSTER, addresses or ADDRESSES, **host_vars)
    return topology(*inputs, {"has_app": True, **(settings or {})})


def value(topo: dict, name: str, host: str = ""):
    return topology_value(topo, name, host)


def test_one_host_keeps_everything_on_sockets_and_loopback():
    topo = site({g: ["vps"] for g in ("webservers", "dbservers", "cacheservers")}, {"vps": "203.0.113.10"})
    assert value(topo, "database_host", "vps") == ""
    assert value(topo, "app_clients", "vps") == []
    assert value(topo, "cache_location", "vps") == "redis://127.0.0.1:6379/0"
    assert topo["site"]["database_remote"] is False
    assert topo["site"]["secrets"] == {"secret_key": "vps", "database_password": "", "cache_password": "vps"}


def test_a_cluster_names_its_servers_by_address():
    topo = site()
    assert topo["site"]["database_server"] == "db" and topo["site"]["database_remote"] is True
    for host in ("web1", "web2", "worker"):
        assert value(topo, "database_host", host) == "10.0.0.40"
        assert value(topo, "cache_location", host) == "redis://10.0.0.50:6379/0"
    # sorted (the set operations behind them give another order in each run), never the lb
    assert value(topo, "app_clients", "db") == ["10.0.0.12/32", "10.0.0.21/32", "10.0.0.30/32"]
    assert value(topo, "app_clients", "web1") == ["10.0.0.12/32", "10.0.0.30/32"]
    # the backends in the group's order, on the load balancers only
    assert value(topo, "lb_backends", "lb") == ["10.0.0.21:443", "10.0.0.12:443"]
    assert value(topo, "lb_backends", "web1") == []
    assert value(topo, "behind_lb", "web1") is True and value(topo, "behind_lb", "lb") is False
    assert topo["site"]["secrets"] == {
        "secret_key": "web1",
        "database_password": "db",
        "cache_password": "cache",
    }


def test_private_addresses_come_first():
    topo = site(
        db={"postgresql_private_address": "192.168.1.40"},
        cache={"djangoprod_private_address": "192.168.1.50", "redis_port": 6380},
        web2={"djangoprod_private_address": "192.168.1.12"},
    )
    assert value(topo, "database_host", "web1") == "192.168.1.40"
    assert value(topo, "cache_location", "web1") == "redis://192.168.1.50:6380/0"
    assert "192.168.1.12/32" in value(topo, "app_clients", "db")
    assert value(topo, "lb_backends", "lb") == ["10.0.0.21:443", "192.168.1.12:443"]
    assert topo["site"]["addresses"]["cache"] == "192.168.1.50"


@pytest.mark.parametrize(
    ("settings", "backend", "location"),
    [
        ({"redis": False}, "memcached", "10.0.0.50:11211"),
        ({"redis": "false", "memcached": False}, "locmem", ""),
    ],
)
def test_the_cache_follows_what_the_cache_servers_run(settings, backend, location):
    topo = site(settings=settings)
    assert topo["site"]["cache_backend"] == backend
    assert value(topo, "cache_location", "web1") == location
    assert topo["site"]["secrets"]["cache_password"] == ""


def test_an_unknown_address_refuses_only_the_values_that_name_it():
    # web2 has no facts (an expired cache, --limit, unreachable) and no private address.
    addresses = {host: address for host, address in ADDRESSES.items() if host != "web2"}
    topo = site(addresses=addresses)
    for name, host, says in (
        ("app_clients", "db", "who may reach this host's PostgreSQL"),
        ("lb_backends", "lb", "this load balancer's backends"),
    ):
        with pytest.raises(AnsibleFilterError, match="The address of web2 is unknown") as refused:
            value(topo, name, host)
        assert says in str(refused.value) and "djangoprod_private_address" in str(refused.value)
    # what does not name web2 stays readable: a deploy to web1 needs only the servers
    assert value(topo, "database_host", "web1") == "10.0.0.40"
    assert value(topo, "cache_location", "worker") == "redis://10.0.0.50:6379/0"


def test_an_unknown_server_address_refuses_its_clients_settings():
    addresses = {host: address for host, address in ADDRESSES.items() if host != "db"}
    topo = site(addresses=addresses)
    with pytest.raises(
        AnsibleFilterError, match=r"The address of db is unknown.*where the application reaches"
    ):
        value(topo, "database_host", "web1")
    assert value(topo, "cache_location", "web1") == "redis://10.0.0.50:6379/0"


def test_backups_go_to_the_backup_host_with_ssh_between_the_two():
    groups = {**CLUSTER, "backupservers": ["backup"]}
    topo = site(groups, {**ADDRESSES, "backup": "10.0.0.60"})
    assert value(topo, "backup_repository_address") == "10.0.0.60"
    assert value(topo, "backup_ssh_peers", "db") == ["10.0.0.60/32"]
    assert value(topo, "backup_ssh_peers", "backup") == ["10.0.0.40/32"]
    assert value(topo, "backup_ssh_peers", "web1") == []
    assert topo["site"]["database_data_directory"] == "/var/lib/postgresql/15/main"
    trixie = site(
        groups,
        {**ADDRESSES, "backup": "10.0.0.60"},
        db={"ansible_facts": {"distribution_major_version": "13"}},
    )
    assert trixie["site"]["database_data_directory"] == "/var/lib/postgresql/17/main"
    assert site(settings={"backup": False})["site"]["backup"] is False


def test_monitoring_scrapes_what_each_host_serves_from_the_monitoring_host_alone():
    groups = {**CLUSTER, "monitoring": ["cache"]}
    topo = site(groups, settings={"request_metrics": True})
    exporters = topo["site"]["exporters"]
    assert exporters["db"] == [["node", 9100], ["postgres", 9187]]
    assert exporters["cache"] == [["node", 9100], ["redis", 9121]]
    assert exporters["web1"] == [
        ["node", 9100],
        ["nginx", 9113],
        ["nginx_status_codes", 3903],
        ["django", 9180],
    ]
    assert exporters["lb"] == [["node", 9100], ["nginx", 9113], ["nginx_status_codes", 3903]]
    assert value(topo, "exporters_address", "db") == "10.0.0.40"
    assert value(topo, "exporters_address", "cache") == "127.0.0.1"  # Prometheus is local there
    assert value(topo, "monitoring_sources", "web1") == ["10.0.0.50"]
    assert value(topo, "exporter_firewall", "db") == [
        {"port": 9100, "sources": ["10.0.0.50/32"]},
        {"port": 9187, "sources": ["10.0.0.50/32"]},
    ]
    assert value(topo, "exporter_firewall", "cache") == []
    targets = value(topo, "monitoring_targets")
    assert {"job": "redis", "targets": ["127.0.0.1:9121"], "labels": {"host": "cache"}} in targets
    assert {"job": "postgres", "targets": ["10.0.0.40:9187"], "labels": {"host": "db"}} in targets
    assert site(groups, settings={"monitoring": False})["site"]["exporters"] == {}
    assert site(settings={"request_metrics": True})["site"]["monitoring"] is False  # no monitoring host


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: topology({"webservers": []}, {}), "the inventory's groups"),
        (lambda: site(settings={"redis": "maybe"}), "djangoprod_redis must be true or false"),
        (lambda: value(site(), "nothing", "web1"), "no value 'nothing'"),
        (lambda: value(site(), "app_clients", "elsewhere"), "elsewhere is not a host"),
    ],
)
def test_bad_input_is_refused_clearly(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


class _CountingVars(dict):
    """hostvars that count the reads of each host's variables (a derivation reads them all)."""

    reads = 0

    def __getitem__(self, host):
        type(self).reads += 1
        return super().__getitem__(host)


def _in_a_task(queue, groups, hostvars):
    """What a task's worker process does: derive, use and change the result, derive again."""
    first = topology(groups, hostvars, {"has_app": True})
    reads = _CountingVars.reads
    first["site"]["database_server"] = "changed by a template"
    again = topology(groups, hostvars, {"has_app": True})
    other = topology({**groups, "dbservers": ["cache"]}, hostvars, {"has_app": True})
    queue.put(
        (reads, _CountingVars.reads, again["site"]["database_server"], other["site"]["database_server"])
    )


def test_a_task_derives_the_site_once_and_the_main_process_every_time():
    import multiprocessing

    groups, hostvars = inventory(CLUSTER, ADDRESSES)
    hostvars = _CountingVars(hostvars)
    # in a task's worker (a child process): derived once for the same groups and settings;
    # a result changed by its user does not reach the next one; other groups derive anew
    queue = multiprocessing.get_context("fork").SimpleQueue()
    worker = multiprocessing.get_context("fork").Process(target=_in_a_task, args=(queue, groups, hostvars))
    worker.start()
    worker.join(30)
    reads_first, reads_after, again, other = queue.get()
    assert worker.exitcode == 0
    assert again == "db" and other == "cache"
    assert reads_first > 0 and reads_after == 2 * reads_first  # the second identical derivation read nothing
    # Ansible's main process (this one): every call derives, as its variables change between tasks
    before = _CountingVars.reads
    topology(groups, hostvars, {"has_app": True})
    topology(groups, hostvars, {"has_app": True})
    assert _CountingVars.reads - before == 2 * reads_first
