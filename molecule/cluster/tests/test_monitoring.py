"""Monitoring in the cluster: the cache host is also the monitoring host. Every
exporter that the groups imply is scraped, the exporters answer the monitoring host
alone, the stack's own metrics (backups, deploys, certificates, status codes) arrive,
and Redis stopped raises its alert in Alertmanager."""

from __future__ import annotations

import json
import time

import pytest
from conftest import converge, exposure, host_address, scenario_hosts, wait_for

HOSTS = ("lb", "web1", "web2", "db", "cache", "worker")
EXPORTERS = {
    "lb": ["prometheus-node-exporter", "prometheus-nginx-exporter", "mtail"],
    "web1": ["prometheus-node-exporter", "prometheus-nginx-exporter", "mtail"],
    "web2": ["prometheus-node-exporter", "prometheus-nginx-exporter", "mtail"],
    "db": ["prometheus-node-exporter", "prometheus-postgres-exporter"],
    "cache": ["prometheus-node-exporter", "prometheus-redis-exporter"],
    "worker": ["prometheus-node-exporter"],
}


@pytest.fixture(scope="module")
def hosts() -> dict:
    return scenario_hosts(HOSTS, "djp-cluster-")


@pytest.fixture(scope="module")
def addresses() -> dict[str, str]:
    return {name: host_address(f"djp-cluster-{name}") for name in HOSTS}


def api(hosts, url: str):
    out = hosts["cache"].run(f"curl -fsS --max-time 5 '{url}'")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def query(hosts, expr: str) -> list[dict]:
    from urllib.parse import quote

    return api(hosts, f"http://127.0.0.1:9090/api/v1/query?query={quote(expr)}")["data"]["result"]


def test_every_exporter_the_groups_imply_is_up(hosts):
    jobs = {
        "prometheus-nginx-exporter": ["nginx", "nginx_status_codes"],
        "prometheus-postgres-exporter": ["postgres"],
        "prometheus-redis-exporter": ["redis"],
    }
    expected = {("prometheus", "cache"), ("alertmanager", "cache"), ("django", "web1"), ("django", "web2")}
    for host, units in EXPORTERS.items():
        expected |= {(job, host) for unit in units for job in ["node", *jobs.get(unit, [])]}

    def all_up():
        targets = api(hosts, "http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        found = {
            (t["labels"]["job"], t["labels"]["host"].removeprefix("djp-cluster-")): t["health"]
            for t in targets
        }
        return found if set(found) == expected and set(found.values()) == {"up"} else None

    found = wait_for(all_up, 90)
    assert found, api(hosts, "http://127.0.0.1:9090/api/v1/targets")


@pytest.mark.parametrize("name", HOSTS)
def test_exporters_run_hardened_on_the_private_address_only(hosts, addresses, name):
    host = hosts[name]
    for unit in EXPORTERS[name]:
        assert host.service(unit).is_running, unit
        assert exposure(host, f"{unit}.service") <= 2.0, unit
    listening = [
        s
        for s in host.socket.get_listening_sockets()
        if s.rsplit(":", 1)[-1] in {"9100", "9113", "9121", "9187", "3903"}
    ]
    # The monitoring host reaches its own exporters on loopback.
    own = "127.0.0.1" if name == "cache" else addresses[name]
    assert listening and all(f"{own}:" in s for s in listening), listening


@pytest.mark.parametrize(
    "server,port", [("db", 9187), ("db", 9100), ("web2", 9113), ("web2", 9180), ("lb", 3903)]
)
def test_an_exporter_answers_the_monitoring_host_alone(hosts, addresses, server, port):
    def reaches(client: str) -> bool:
        return hosts[client].run(f"timeout 3 bash -c '</dev/tcp/{addresses[server]}/{port}'").rc == 0

    assert reaches("cache"), f"the monitoring host cannot reach {server}:{port}"
    assert not reaches("web1"), f"web1 reaches {server}:{port}"


def test_the_stacks_own_metrics_arrive(hosts, addresses):
    # A restore drill (weekly by its timer) and requests through the load balancer,
    # counted by status code on the lb and a web server.
    assert hosts["db"].run("systemctl start djangoprod-backup-drill.service").rc == 0
    for _attempt in range(5):
        hosts["lb"].run(
            f"curl -sk -o /dev/null --resolve guestbook.test:443:{addresses['lb']} https://guestbook.test/"
        )

    queries = {
        "backup": "djangoprod_backup_newest_timestamp_seconds",
        "drill": "djangoprod_backup_drill_success",
        "deploys": 'djangoprod_deploy_last_run_success{app="guestbook"}',
        "certificates": "djangoprod_tls_certificate_expiry_timestamp_seconds",
        "codes": 'djangoprod_nginx_responses_total{code="200"}',
        "units": 'node_systemd_unit_state{name="redis-server.service",state="active"} == 1',
        "pg": "pg_settings_max_connections",
    }

    def arrived():
        found = {name: query(hosts, expr) for name, expr in queries.items()}
        return found if all(found.values()) else None

    found = wait_for(arrived, 90)
    assert found, "missing: " + ", ".join(name for name, expr in queries.items() if not query(hosts, expr))
    assert {r["metric"]["host"].removeprefix("djp-cluster-") for r in found["deploys"]} >= {
        "web1",
        "web2",
        "worker",
    }
    assert all(r["value"][1] == "1" for r in found["deploys"])
    assert {r["metric"]["host"].removeprefix("djp-cluster-") for r in found["codes"]} >= {"lb"}
    days = [(float(r["value"][1]) - time.time()) / 86400 for r in found["certificates"]]
    assert all(days_left > 14 for days_left in days), days


def test_redis_stopped_raises_its_alert(hosts):
    def firing():
        alerts = api(hosts, "http://127.0.0.1:9093/api/v2/alerts?active=true")
        return [a for a in alerts if a["labels"].get("alertname") == "RedisDown"]

    assert not firing()
    started = time.monotonic()
    assert hosts["cache"].run("systemctl stop redis-server").rc == 0
    try:
        alerts = wait_for(firing, 180)
        took = time.monotonic() - started
        print(f"RedisDown reached Alertmanager {took:.0f} s after Redis stopped")
        assert alerts, "RedisDown did not fire within 3 minutes"
        assert alerts[0]["labels"]["host"] == "djp-cluster-cache"
        assert alerts[0]["labels"]["severity"] == "critical"
        assert "systemctl status redis-server" in alerts[0]["annotations"]["runbook"]
    finally:
        assert hosts["cache"].run("systemctl start redis-server").rc == 0
    assert wait_for(lambda: not firing(), 120), "RedisDown did not clear once Redis was back"


def test_the_status_playbook_sums_up_every_host_and_names_a_problem(hosts):
    healthy = converge(playbook="../../playbooks/status.yml")
    assert healthy.rc == 0, healthy.output[-3000:]
    for name in HOSTS:
        assert f"ok: [djp-cluster-{name}]" in healthy.output
    for says in (
        "units: none failed",
        "database backup: newest",
        "restore drill: ok",
        "last run on guestbook: ",
        "no problem found",
    ):
        assert says in healthy.output, says
    assert hosts["worker"].run("systemd-run --unit djp-broken /bin/false").rc == 0
    try:
        time.sleep(1)
        broken = converge(playbook="../../playbooks/status.yml")
    finally:
        hosts["worker"].run("systemctl reset-failed djp-broken.service")
    assert broken.rc != 0
    assert "djp-cluster-worker: unit djp-broken.service failed" in broken.output, broken.output[-3000:]
    assert broken.changed_tasks == []


def test_the_apps_requests_are_counted_across_workers_and_served_to_prometheus_only(hosts, addresses):
    before = query(hosts, 'sum(django_http_responses_total_by_status_total{status="200"})')
    start = float(before[0]["value"][1]) if before else 0.0
    for _attempt in range(20):
        hosts["lb"].run(
            f"curl -sk -o /dev/null --resolve guestbook.test:443:{addresses['lb']} https://guestbook.test/"
        )

    def counted():
        found = query(hosts, 'sum(django_http_responses_total_by_status_total{status="200"})')
        return found and float(found[0]["value"][1]) >= start + 20

    assert wait_for(counted, 60), query(hosts, "django_http_responses_total_by_status_total")
    # Not on the site itself, through the load balancer or on a web server.
    for host, address in (("lb", addresses["lb"]), ("web1", addresses["web1"])):
        answer = (
            hosts[host]
            .run(
                "curl -sk -o /dev/null -w '%{http_code}' "
                f"--resolve guestbook.test:443:{address} https://guestbook.test/_djangoprod/metrics"
            )
            .stdout
        )
        assert answer == "404", (host, answer)
