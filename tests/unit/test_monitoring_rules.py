"""The monitoring role's alert rules and configuration, checked by Debian's promtool
and amtool: the rules load, every alert fires on a case made for it (with its labels
and rendered annotations) and stays quiet on one that is not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "monitoring"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


@pytest.fixture(scope="module")
def tools() -> Path:
    out = subprocess.run(
        [str(ROOT / "tests" / "tools" / "prometheus-tools")], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"promtool could not be fetched from Debian: {out.stderr}"
    return Path(out.stdout.strip())


def render(name: str, **variables) -> str:
    """A role template as Ansible renders it, for plain values."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        **({"variable_start_string": "[%", "variable_end_string": "%]"} if "rules" in name else {}),
    )
    env.filters["comment"] = lambda text: "\n".join(f"# {line}" for line in text.splitlines())
    env.filters["to_json"] = __import__("json").dumps
    env.filters["bool"] = bool
    values = {k: v for k, v in DEFAULTS.items() if not (isinstance(v, str) and "{{" in v)}
    values.update(ansible_managed="Managed by djangoprod.stack", inventory_hostname="mon", **variables)
    return env.get_template(name).render(**values)


def runbook(alert: str, labels: dict) -> str:
    rules = yaml.safe_load(render("djangoprod.rules.yml.j2"))
    text = next(r for g in rules["groups"] for r in g["rules"] if r["alert"] == alert)["annotations"][
        "runbook"
    ]
    for key, value in labels.items():
        text = text.replace("{{ $labels." + key + " }}", value)
    return text


CERTIFICATE = (
    'djangoprod_tls_certificate_expiry_timestamp_seconds{path="/etc/nginx/tls/shop.crt",host="web1"}'
)

# alert: (series {name{labels}: values}, when, labels, summary, quiet: (series, when) or None)
CASES = {
    "HostDown": (
        {'up{job="node",host="web1"}': "0x10"},
        "3m",
        {"job": "node", "host": "web1"},
        "web1 does not answer Prometheus",
        ({'up{job="node",host="web1"}': "1x10"}, "3m"),
    ),
    "ExporterDown": (
        {'up{job="redis",host="cache"}': "0x10"},
        "3m",
        {"job": "redis", "host": "cache"},
        "The redis exporter on cache does not answer",
        ({'up{job="redis",host="cache"}': "0 0 1x10"}, "3m"),
    ),
    "SystemdUnitFailed": (
        {'node_systemd_unit_state{name="nginx.service",state="failed",host="web1"}': "1x5"},
        "2m",
        {"name": "nginx.service", "state": "failed", "host": "web1"},
        "nginx.service failed on web1",
        ({'node_systemd_unit_state{name="nginx.service",state="failed",host="web1"}': "0x5"}, "2m"),
    ),
    "DiskAlmostFull": (
        {
            'node_filesystem_avail_bytes{mountpoint="/",fstype="ext4",host="db"}': "10x20",
            'node_filesystem_size_bytes{mountpoint="/",fstype="ext4",host="db"}': "100x20",
        },
        "11m",
        {"mountpoint": "/", "fstype": "ext4", "host": "db"},
        "/ on db is 90% full",
        (
            {
                'node_filesystem_avail_bytes{mountpoint="/",fstype="ext4",host="db"}': "20x20",
                'node_filesystem_size_bytes{mountpoint="/",fstype="ext4",host="db"}': "100x20",
            },
            "11m",
        ),
    ),
    "MemoryPressure": (
        {
            'node_memory_MemAvailable_bytes{host="db"}': "5x20",
            'node_memory_MemTotal_bytes{host="db"}': "100x20",
        },
        "11m",
        {"host": "db"},
        "db is short of memory",
        (
            {
                'node_memory_MemAvailable_bytes{host="db"}': "50x20",
                'node_memory_MemTotal_bytes{host="db"}': "100x20",
            },
            "11m",
        ),
    ),
    "HTTP5xxRate": (
        {
            'djangoprod_nginx_responses_total{code="500",host="web1"}': "0+60x20",
            'djangoprod_nginx_responses_total{code="200",host="web1"}': "0+60x20",
        },
        "12m",
        {"host": "web1"},
        "50% of the responses of web1 are errors (5xx)",
        # 1 error in 10 minutes: too little traffic to page anyone.
        ({'djangoprod_nginx_responses_total{code="500",host="web1"}': "0 1x20"}, "12m"),
    ),
    "CertificateExpiring": (
        {CERTIFICATE: "604800x20"},
        "11m",
        {"path": "/etc/nginx/tls/shop.crt", "host": "web1"},
        "The certificate /etc/nginx/tls/shop.crt on web1 expires in 6.992 days",
        (
            {CERTIFICATE: "2592000x20"},
            "11m",
        ),
    ),
    "DeployFailed": (
        {'djangoprod_deploy_last_run_success{app="shop",what="deploy",host="web1"}': "0x3"},
        "1m",
        {"app": "shop", "what": "deploy", "host": "web1"},
        "The last deploy of shop on web1 failed",
        ({'djangoprod_deploy_last_run_success{app="shop",what="deploy",host="web1"}': "1x3"}, "1m"),
    ),
    "BackupTooOld": (
        {'djangoprod_backup_newest_timestamp_seconds{stanza="shop",type="full",host="db"}': "0x30"},
        "27h",
        {"stanza": "shop", "host": "db"},
        "The newest backup of shop is 1d 3h 0m 0s old",
        ({'djangoprod_backup_newest_timestamp_seconds{stanza="shop",type="full",host="db"}': "0x30"}, "25h"),
    ),
    "BackupFailed": (
        {'djangoprod_backup_last_run_success{stanza="shop",host="db"}': "0x3"},
        "1m",
        {"stanza": "shop", "host": "db"},
        "The last backup run on db failed",
        ({'djangoprod_backup_last_run_success{stanza="shop",host="db"}': "1x3"}, "1m"),
    ),
    "MediaBackupTooOld": (
        {'djangoprod_media_backup_last_success_timestamp_seconds{host="web1"}': "0x30"},
        "27h",
        {"host": "web1"},
        "The media of web1 were last backed up 1d 3h 0m 0s ago",
        ({'djangoprod_media_backup_last_success_timestamp_seconds{host="web1"}': "0x30"}, "25h"),
    ),
    "RestoreDrillTooOld": (
        {'djangoprod_backup_drill_timestamp_seconds{stanza="shop",host="db"}': "0x200"},
        "193h",
        {"stanza": "shop", "host": "db"},
        "The last restore drill of shop ran 8d 1h 0m 0s ago",
        ({'djangoprod_backup_drill_timestamp_seconds{stanza="shop",host="db"}': "0x200"}, "191h"),
    ),
    "RestoreDrillFailed": (
        {'djangoprod_backup_drill_success{stanza="shop",host="db"}': "0x3"},
        "1m",
        {"stanza": "shop", "host": "db"},
        "The last restore drill of shop failed: the backups may not restore",
        ({'djangoprod_backup_drill_success{stanza="shop",host="db"}': "1x3"}, "1m"),
    ),
    "PostgresDown": (
        {'pg_up{host="db"}': "0x5"},
        "3m",
        {"host": "db"},
        "PostgreSQL on db does not answer its exporter",
        ({'pg_up{host="db"}': "1x5"}, "3m"),
    ),
    "PostgresConnections": (
        {
            'pg_stat_activity_count{datname="shop",state="idle",host="db"}': "85x10",
            'pg_settings_max_connections{host="db"}': "100x10",
        },
        "6m",
        {"host": "db"},
        "PostgreSQL on db uses 85% of its connections",
        (
            {
                'pg_stat_activity_count{datname="shop",state="idle",host="db"}': "50x10",
                'pg_settings_max_connections{host="db"}': "100x10",
            },
            "6m",
        ),
    ),
    "RedisDown": (
        {'redis_up{host="cache"}': "0x5"},
        "3m",
        {"host": "cache"},
        "Redis on cache does not answer",
        ({'redis_up{host="cache"}': "1x5"}, "3m"),
    ),
    "RedisMemory": (
        {'redis_memory_used_bytes{host="cache"}': "95x10", 'redis_memory_max_bytes{host="cache"}': "100x10"},
        "6m",
        {"host": "cache"},
        "Redis on cache uses 95% of its maxmemory",
        # No maxmemory: nothing to compare with.
        (
            {
                'redis_memory_used_bytes{host="cache"}': "95x10",
                'redis_memory_max_bytes{host="cache"}': "0x10",
            },
            "6m",
        ),
    ),
    "NginxDown": (
        {'nginx_up{host="web1"}': "0x5"},
        "3m",
        {"host": "web1"},
        "nginx on web1 does not answer its exporter",
        ({'nginx_up{host="web1"}': "1x5"}, "3m"),
    ),
}


def test_every_alert_has_a_case() -> None:
    rules = yaml.safe_load(render("djangoprod.rules.yml.j2"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert alerts == set(CASES)
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook"].strip(), rule["alert"]
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]


def test_rules_pass_promtool(tools: Path, tmp_path: Path) -> None:
    rules = tmp_path / "djangoprod.yml"
    rules.write_text(render("djangoprod.rules.yml.j2"))
    check = subprocess.run(
        [tools / "promtool", "check", "rules", rules], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = []
    for alert, (series, when, labels, summary, quiet) in CASES.items():
        severity = yaml.safe_load(render("djangoprod.rules.yml.j2"))
        severity = next(r for g in severity["groups"] for r in g["rules"] if r["alert"] == alert)["labels"]
        interval = "1h" if when.endswith("h") else "1m"
        expected = {
            "exp_labels": {**labels, **severity},
            "exp_annotations": {"summary": summary, "runbook": runbook(alert, labels)},
        }
        tests.append(
            {
                "name": f"{alert} fires",
                "interval": interval,
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": [{"eval_time": when, "alertname": alert, "exp_alerts": [expected]}],
            }
        )
        tests.append(
            {
                "name": f"{alert} stays quiet",
                "interval": interval,
                "input_series": [{"series": s, "values": v} for s, v in quiet[0].items()],
                "alert_rule_test": [{"eval_time": quiet[1], "alertname": alert, "exp_alerts": []}],
            }
        )
    # Cases over days are evaluated hourly (every minute would take promtool long).
    files = []
    for interval in ("1m", "1h"):
        cases = tmp_path / f"cases-{interval}.yml"
        chosen = [test for test in tests if test["interval"] == interval]
        cases.write_text(
            yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": interval, "tests": chosen})
        )
        files.append(cases)
    result = subprocess.run(
        [tools / "promtool", "test", "rules", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


TARGETS = [
    {"job": "node", "targets": ["127.0.0.1:9100"], "labels": {"host": "mon"}},
    {"job": "node", "targets": ["10.0.0.5:9100"], "labels": {"host": "db"}},
    {"job": "postgres", "targets": ["10.0.0.5:9187"], "labels": {"host": "db"}},
]


def test_prometheus_configuration_passes_promtool(tools: Path, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(render("prometheus.yml.j2", monitoring_targets=TARGETS))
    result = subprocess.run(
        [tools / "promtool", "check", "config", "--syntax-only", config],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert set(jobs) == {"prometheus", "alertmanager", "node", "postgres"}
    assert [c["labels"]["host"] for c in jobs["node"]["static_configs"]] == ["mon", "db"]


@pytest.mark.parametrize(
    "receivers",
    [
        {},
        {"monitoring_alert_webhook_url": "https://hooks.example.com/alerts"},
        {
            "monitoring_alert_email_to": ["ops@example.com"],
            "monitoring_alert_smarthost": "mail.example.com:587",
            "monitoring_alert_smarthost_username": "alerts",
            "monitoring_alert_smarthost_password": "s3cret",
            "monitoring_alert_email_from": "alerts@example.com",
            "monitoring_alert_webhook_url": "https://hooks.example.com/alerts",
        },
    ],
)
def test_alertmanager_configuration_passes_amtool(tools: Path, tmp_path: Path, receivers: dict) -> None:
    variables = {
        "monitoring_alert_email_from": "alertmanager@mon",
        "monitoring_alert_email_to": [],
        "monitoring_alert_smarthost": "",
        "monitoring_alert_smarthost_username": "",
        "monitoring_alert_smarthost_password": "",
        **receivers,
    }
    config = tmp_path / "alertmanager.yml"
    config.write_text(render("alertmanager.yml.j2", **variables))
    result = subprocess.run(
        [tools / "amtool", "check-config", config], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    receiver = yaml.safe_load(config.read_text())["receivers"][0]
    assert ("webhook_configs" in receiver) == bool(receivers.get("monitoring_alert_webhook_url"))
    assert ("email_configs" in receiver) == bool(receivers.get("monitoring_alert_email_to"))
