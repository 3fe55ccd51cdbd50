# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: the site's topology, derived once from the inventory groups and the hosts'
addresses (topology), and one value of it, refused while an address it names is unknown
(topology_value). playbooks/vars/site.yml maps it into the roles' variables."""

from __future__ import annotations

import copy
import multiprocessing
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The exporters each kind of host runs: job, the variable naming its port, its default.
_NODE = ("node", "monitoring_node_exporter_port", 9100)
_POSTGRES = ("postgres", "monitoring_postgres_exporter_port", 9187)
_REDIS = ("redis", "monitoring_redis_exporter_port", 9121)
_NGINX = ("nginx", "monitoring_nginx_exporter_port", 9113)
_MTAIL = ("nginx_status_codes", "monitoring_mtail_port", 3903)
_DJANGO = ("django", "nginx_app_metrics_port", 9180)
# PostgreSQL's version on each Debian release (postgresql_version unset).
_POSTGRESQL_VERSIONS = {"12": "15", "13": "17"}


def _vars(hostvars: Mapping, host: str) -> Mapping:
    try:
        return hostvars[host]
    except KeyError:
        return {}


def _get(values: Mapping, name: str, default: object = None) -> object:
    try:
        value = values[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise AnsibleFilterError(f"{name} must be true or false, got {value!r}")


def _first(groups: Mapping, name: str) -> str:
    members = groups.get(name) or []
    return members[0] if members else ""


class _Site:
    """The derivations, with the hosts whose unknown address each value would name."""

    def __init__(self, groups: Mapping, hostvars: Mapping, settings: Mapping) -> None:
        self.groups = {name: list(members or []) for name, members in groups.items()}
        self.hostvars = hostvars
        self.settings = settings
        self.all = self.groups.get("all", [])
        self.missing: dict[str, dict[str, list[str]]] = {}
        self._host_vars: dict[str, Mapping] = {}

    def host_vars(self, host: str) -> Mapping:
        # (each hostvars[host] gathers all of the host's variables: once per host)
        if host not in self._host_vars:
            self._host_vars[host] = _vars(self.hostvars, host)
        return self._host_vars[host]

    def facts(self, host: str) -> Mapping:
        return _get(self.host_vars(host), "ansible_facts", {}) or {}

    def address(self, host: str) -> str:
        """The host's address on the private network: djangoprod_private_address when the
        inventory sets one, else the address of its default route ('' when unknown)."""
        private = _get(self.host_vars(host), "djangoprod_private_address", "")
        if private:
            return str(private)
        return str(_get(_get(self.facts(host), "default_ipv4", {}) or {}, "address", "") or "")

    def service_address(self, host: str, variable: str) -> str:
        """Where a service of `host` is reached: its own private address, else the host's."""
        return str(_get(self.host_vars(host), variable, "") or "") or self.address(host)

    def need(self, where: str, name: str, hosts: list[str]) -> None:
        unknown = [host for host in hosts if host and not self.address(host)]
        if unknown:
            self.missing.setdefault(where, {})[name] = sorted(set(unknown))

    def build(self) -> dict:
        groups, settings = self.groups, self.settings
        database_server = _first(groups, "dbservers")
        cache_server = _first(groups, "cacheservers")
        backup_server = _first(groups, "backupservers")
        monitoring_server = _first(groups, "monitoring")
        app_hosts = list(dict.fromkeys(groups.get("webservers", []) + groups.get("workers", [])))
        web_servers = groups.get("webservers", self.all)
        load_balancers = groups.get("loadbalancers", [])
        has_app = _bool(settings.get("has_app", False), "has_app")
        redis = _bool(settings.get("redis", True), "djangoprod_redis")
        memcached = _bool(settings.get("memcached", True), "djangoprod_memcached")

        if "cacheservers" not in groups:
            cache_backend = ""
        elif not cache_server:
            cache_backend = "locmem"
        elif redis:
            cache_backend = "redis"
        else:
            cache_backend = "memcached" if memcached else "locmem"
        database_remote = bool(set(app_hosts) - {database_server})

        backends = [
            f"{self.address(host)}:443" for host in groups.get("webservers", []) if self.address(host)
        ]
        self.need("site", "backends", groups.get("webservers", []))

        backup = _bool(settings.get("backup", True), "djangoprod_backup") and bool(database_server)
        repository_address = ""
        if backup_server not in ("", database_server):
            repository_address = self.address(backup_server)
            self.need("site", "backup_repository_address", [backup_server])
        data_directory = ""
        if database_server:
            db_vars = self.host_vars(database_server)
            version = str(_get(db_vars, "postgresql_version", "") or "") or _POSTGRESQL_VERSIONS.get(
                str(_get(self.facts(database_server), "distribution_major_version", "12")), "15"
            )
            data_directory = f"/var/lib/postgresql/{version}/main"

        monitoring = _bool(settings.get("monitoring", True), "djangoprod_monitoring") and bool(
            monitoring_server
        )
        exporters: dict[str, list[list]] = {}
        if monitoring:
            web = web_servers + (load_balancers if has_app else [])
            metrics = _bool(settings.get("request_metrics", False), "djangoprod_request_metrics") and has_app
            for host in self.all:
                kinds = [_NODE]
                if host in groups.get("dbservers", []):
                    kinds.append(_POSTGRES)
                if host in groups.get("cacheservers", []) and redis:
                    kinds.append(_REDIS)
                if host in web:
                    kinds += [_NGINX, _MTAIL]
                if metrics and host in web_servers:
                    kinds.append(_DJANGO)
                exporters[host] = [
                    [job, int(_get(self.host_vars(host), port, default))] for job, port, default in kinds
                ]
        targets = []
        for host, jobs in exporters.items():
            if host == monitoring_server:
                address = "127.0.0.1"
            else:
                address = self.service_address(host, "monitoring_exporters_address")
                self.need("site", "monitoring_targets", [host])
            targets += [
                {"job": job, "targets": [f"{address}:{port}"], "labels": {"host": host}} for job, port in jobs
            ]

        site = {
            "database_server": database_server,
            "cache_server": cache_server,
            "backup_server": backup_server,
            "monitoring_server": monitoring_server,
            "app_hosts": app_hosts,
            "web_servers": web_servers,
            "load_balancers": load_balancers,
            "addresses": {host: self.address(host) for host in self.all},
            "database_remote": database_remote,
            "cache_backend": cache_backend,
            "backends": backends,
            "backup": backup,
            "backup_repository_address": repository_address,
            "database_data_directory": data_directory,
            "monitoring": monitoring,
            "exporters": exporters,
            "monitoring_targets": targets,
            # Which host holds each shared secret ('' for none): the app's secret key on
            # the first application host, the passwords on the servers that check them.
            "secrets": {
                "secret_key": app_hosts[0] if app_hosts else "",
                "database_password": database_server if database_server and database_remote else "",
                "cache_password": cache_server if cache_backend == "redis" else "",
            },
        }
        hosts = {host: self.view(host, site) for host in self.all}
        return {"site": site, "hosts": hosts, "missing": self.missing}

    def view(self, host: str, site: dict) -> dict:
        """What `host`'s own rules and settings name."""
        database_server, cache_server = site["database_server"], site["cache_server"]
        monitoring_server, backup_server = site["monitoring_server"], site["backup_server"]

        clients = [host_ for host_ in site["app_hosts"] if host_ != host]
        self.need(host, "app_clients", clients)
        app_clients = sorted({f"{self.address(client)}/32" for client in clients if self.address(client)})

        database_host = ""
        if database_server not in ("", host):
            database_host = self.service_address(database_server, "postgresql_private_address")
            self.need(host, "database_host", [database_server])

        backend = site["cache_backend"]
        cache_address = "127.0.0.1"
        if cache_server not in ("", host):
            variable = "redis_private_address" if backend == "redis" else "memcached_private_address"
            cache_address = self.service_address(cache_server, variable)
            self.need(host, "cache_location", [cache_server])
        cache_vars = self.host_vars(cache_server) if cache_server else {}
        if backend == "redis":
            cache_location = f"redis://{cache_address}:{_get(cache_vars, 'redis_port', 6379)}/0"
        elif backend == "memcached":
            cache_location = f"{cache_address}:{_get(cache_vars, 'memcached_port', 11211)}"
        else:
            cache_location = ""

        peers: list[str] = []
        if site["backup"] and site["backup_repository_address"]:
            if host == database_server:
                peers = [f"{site['backup_repository_address']}/32"]
            elif host == backup_server:
                peers = [f"{self.address(database_server)}/32"]
                self.need(host, "backup_ssh_peers", [database_server])

        if host in site["load_balancers"]:
            self.need(host, "lb_backends", site["web_servers"] if "webservers" in self.groups else [])
        jobs = site["exporters"].get(host, [])
        local = monitoring_server in ("", host)
        if not local:
            self.need(host, "monitoring_sources", [monitoring_server])
            if site["monitoring"]:
                self.need(host, "exporter_firewall", [monitoring_server])
        monitoring_address = self.address(monitoring_server) if monitoring_server else ""
        return {
            "address": self.address(host),
            "app_clients": app_clients,
            "database_host": database_host,
            "cache_location": cache_location,
            "lb_backends": site["backends"] if host in site["load_balancers"] else [],
            "behind_lb": bool(site["load_balancers"]) and host not in site["load_balancers"],
            "backup_ssh_peers": peers,
            "exporter_jobs": [job for job, _port in jobs],
            "exporters_address": "127.0.0.1" if local else (self.address(host) or "127.0.0.1"),
            "monitoring_sources": ["127.0.0.1"] if local else [monitoring_address],
            "exporter_firewall": []
            if local or not site["monitoring"]
            else [{"port": port, "sources": [f"{monitoring_address}/32"]} for _job, port in jobs],
        }


# Derived once per task. Every role variable that reads the site (an address, a client
# list, an endpoint) evaluates the filter again, and each evaluation reads every host's
# variables: a task templating a few of them paid for the derivation each time. A task
# runs in a worker process of its own (forked for it, with an empty cache), in which the
# hosts' variables and facts cannot change: the result is kept there for the task's
# life. Ansible's main process, whose variables change between tasks, keeps nothing.
_DERIVED: dict[tuple, dict] = {}


def topology(groups: Mapping, hostvars: Mapping, settings: Mapping | None = None) -> dict:
    """The site's topology from the inventory groups and the hosts' variables and facts."""
    if not isinstance(groups, Mapping) or "all" not in groups:
        raise AnsibleFilterError("topology needs the inventory's groups (the `groups` variable)")
    if multiprocessing.parent_process() is None:
        return _Site(groups, hostvars, settings or {}).build()
    key = (
        tuple((name, tuple(members or [])) for name, members in sorted(groups.items())),
        repr(sorted((settings or {}).items())),
    )
    if key not in _DERIVED:
        _DERIVED[key] = _Site(groups, hostvars, settings or {}).build()
    # a copy: nothing a template does to its result reaches the next one
    return copy.deepcopy(_DERIVED[key])


# What each value of the topology is for, in the message that refuses it.
_USES = {
    "app_clients": "who may reach this host's PostgreSQL, Redis and Memcached (pg_hba, firewall)",
    "database_host": "where the application reaches PostgreSQL",
    "cache_location": "where the application reaches its cache",
    "backends": "the load balancers' backends",
    "lb_backends": "this load balancer's backends",
    "backup_repository_address": "where the backups go",
    "backup_ssh_peers": "the SSH between the database server and the backup host",
    "monitoring_sources": "who may read this host's exporters",
    "exporter_firewall": "who may read this host's exporters",
    "monitoring_targets": "what Prometheus scrapes",
}


def topology_value(topology_: Mapping, name: str, host: str = "") -> object:
    """One value of the topology: the site's (no host) or `host`'s. Refused, naming the
    hosts, while it would name a host whose address is unknown (a rule written without
    them would cut them off)."""
    where = host or "site"
    section = topology_["hosts"].get(host) if host else topology_["site"]
    if section is None:
        raise AnsibleFilterError(f"{host} is not a host of the inventory")
    if name not in section:
        raise AnsibleFilterError(f"the topology has no value {name!r}")
    missing = (topology_.get("missing") or {}).get(where, {})
    if missing.get(name):
        hosts = ", ".join(missing[name])
        raise AnsibleFilterError(
            f"The address of {hosts} is unknown (no facts: not reached in this run, or not in it with "
            f"--limit, and no djangoprod_private_address), and {_USES.get(name, name)} names it. "
            "Nothing was changed. Run without --limit or make the host reachable, or set its "
            "djangoprod_private_address in the inventory."
        )
    return section[name]


class FilterModule:
    def filters(self) -> dict:
        return {"topology": topology, "topology_value": topology_value}
