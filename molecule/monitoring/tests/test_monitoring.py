"""The monitoring role alone: the node exporter scraped by Prometheus, an alert that
fires into Alertmanager and its webhook and clears, hardened units, loopback only."""

from __future__ import annotations

import json

import pytest
from conftest import exposure, wait_for

UNITS = ["prometheus-node-exporter", "prometheus", "prometheus-alertmanager"]

# A webhook receiver on the host: every POST body appended to a file.
RECEIVER = r"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("/run/djp-webhook.log", "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", 9199), H).serve_forever()
"""


def api(host, url: str):
    out = host.run(f"curl -fsS --max-time 5 {url}")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def alerts(host, name: str) -> list[dict]:
    found = api(host, "http://127.0.0.1:9093/api/v2/alerts?active=true")
    return [a for a in found if a["labels"].get("alertname") == name]


@pytest.mark.parametrize("unit", UNITS)
def test_units_run_hardened(host, unit):
    assert host.service(unit).is_running
    assert host.service(unit).is_enabled
    assert exposure(host, f"{unit}.service") <= 2.0


def test_nothing_listens_beyond_loopback(host):
    ports = {"9090", "9093", "9100"}
    listening = host.socket.get_listening_sockets()
    ours = [s for s in listening if s.rsplit(":", 1)[-1] in ports | {"9094"}]
    assert ours, listening
    for socket in ours:
        assert "127.0.0.1:" in socket, socket
    assert not [s for s in listening if s.endswith(":9094")], "Alertmanager's cluster port is open"


def test_the_stack_rules_are_loaded(host):
    groups = api(host, "http://127.0.0.1:9090/api/v1/rules")["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    for alert in (
        "HostDown",
        "SystemdUnitFailed",
        "DiskAlmostFull",
        "HTTP5xxRate",
        "CertificateExpiring",
        "BackupTooOld",
        "RestoreDrillFailed",
        "PostgresConnections",
        "RedisMemory",
        "DeployFailed",
    ):
        assert alert in names
    for group in groups:
        for rule in group["rules"]:
            assert rule["annotations"].get("runbook"), rule["name"]
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))


def test_the_target_is_up(host):
    def up():
        targets = api(host, "http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = wait_for(up, 60)
    assert targets, api(host, "http://127.0.0.1:9090/api/v1/targets")
    assert {t["labels"]["host"] for t in targets} == {host.backend.host}


def test_the_node_exporter_reads_units_and_textfiles(host):
    metrics = host.run("curl -fsS http://127.0.0.1:9100/metrics").stdout
    assert 'node_systemd_unit_state{name="prometheus.service",state="active"' in metrics
    assert "node_textfile_scrape_error 0" in metrics
    assert (
        "djangoprod_tls_certificate_expiry_timestamp_seconds"
        in host.run(
            "systemctl start djangoprod-certificate-metrics.service; "
            "cat /var/lib/prometheus/node-exporter/djangoprod_certificates.prom"
        ).stdout
    )


def test_a_host_down_alert_fires_reaches_the_webhook_and_clears(host):
    host.run("rm -f /run/djp-webhook.log")
    host.run(f"cat > /run/djp-webhook.py <<'EOF'\n{RECEIVER}\nEOF")
    receiver = host.run("systemd-run --unit djp-webhook --collect python3 /run/djp-webhook.py")
    assert receiver.rc == 0, receiver.stderr
    try:
        assert host.run("systemctl stop prometheus-node-exporter").rc == 0
        fired = wait_for(lambda: alerts(host, "HostDown"), 120)
        assert fired, "HostDown did not fire within 2 minutes"
        assert fired[0]["labels"]["host"] == host.backend.host
        assert "runbook" in fired[0]["annotations"]
        notified = wait_for(lambda: "HostDown" in host.run("cat /run/djp-webhook.log").stdout, 60)
        assert notified, "the webhook received no notice"
    finally:
        host.run("systemctl start prometheus-node-exporter")
        host.run("systemctl stop djp-webhook")
    assert wait_for(lambda: not alerts(host, "HostDown"), 120), "HostDown did not clear"
