"""The backup role alone, into an S3-compatible bucket (a local S3 server the scenario
starts, TLS verified): pgBackRest archiving PostgreSQL's WAL into an encrypted
repository there, a first backup, hardened timers, a restore drill that passes, media
files backed up with restic and brought back, secrets in no output and no file anyone
may read, and a passphrase that cannot change under the repository."""

from __future__ import annotations

import json
import os
import ssl
import urllib.request

from conftest import converge, exposure

STANZA = "shop"
SECRET = "/etc/djangoprod/secrets/backup-repository"
S3_SECRET = "djp-test-secret-never-printed-7c1e"
S3_PORT = int(os.environ.get("DJANGOPROD_S3_PORT", "9412"))


def sql(host, statement: str, database: str = "shop") -> str:
    out = host.run(
        f"cd /tmp && sudo -u postgres psql -X -q -At -v ON_ERROR_STOP=1 -d {database} -c {statement!r}"
    )
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def bucket(prefix: str) -> str:
    """The bucket's listing under `prefix`, asked of the S3 server directly."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    url = f"https://127.0.0.1:{S3_PORT}/djp-backups?prefix={prefix}"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.read().decode()


def test_wal_and_backups_go_to_the_bucket_encrypted(host):
    assert sql(host, "SHOW archive_mode", "postgres") == "on"
    assert sql(host, "SHOW archive_command", "postgres") == f"pgbackrest --stanza={STANZA} archive-push %p"
    segment = sql(host, "SELECT pg_walfile_name(pg_switch_wal())", "postgres")
    host.run("sleep 3")
    assert sql(host, "SELECT last_archived_wal FROM pg_stat_archiver", "postgres") >= segment
    info = json.loads(host.run(f"sudo -u postgres pgbackrest --stanza={STANZA} --output=json info").stdout)[0]
    assert info["status"]["code"] == 0 and info["cipher"] == "aes-256-cbc", info["status"]
    assert [b for b in info["backup"] if b["type"] == "full"], info["backup"]
    # in the bucket, not on the host's disk
    assert "<Key>djangoprod/pgbackrest/backup/shop/backup.info</Key>" in bucket(
        "djangoprod/pgbackrest/backup/shop/backup"
    )
    assert "<Key>djangoprod/pgbackrest/archive/shop/archive.info</Key>" in bucket(
        "djangoprod/pgbackrest/archive/shop/arch"
    )
    assert host.run(f"ls /var/lib/pgbackrest/backup/{STANZA} 2>/dev/null").stdout.strip() == ""


def test_the_secrets_are_root_only_and_never_printed(host):
    secret = host.file(SECRET)
    assert (secret.user, secret.mode) == ("root", 0o600)
    config = host.file("/etc/pgbackrest/pgbackrest.conf")
    assert (config.user, config.group, config.mode) == ("root", "postgres", 0o640)
    with host.sudo():
        passphrase = host.file(SECRET).content_string.strip()
    for text in (passphrase, S3_SECRET):
        found = host.run(
            "find /etc /var /tmp /run /srv -xdev -type f -perm -o=r -size -2M 2>/dev/null"
            f" | xargs -r grep -lF -- {text!r} 2>/dev/null"
        )
        assert found.stdout.strip() == "", found.stdout
        assert host.run(f"journalctl --no-pager | grep -cF -- {text!r}").stdout.strip() == "0"
    run = converge(check=True, env={"ANSIBLE_DIFF_ALWAYS": "1"})
    assert run.rc == 0, run.output[-3000:]
    assert run.changed_tasks == [], [
        line for line in run.output.splitlines() if line.startswith(("---", "+", "-"))
    ]
    assert S3_SECRET not in run.output and passphrase not in run.output
    # a bucket is off the host: no warning about the same disk
    assert "ON THE SAME DISK" not in run.output


def test_the_units_are_hardened_timers(host):
    for timer in (f"full@{STANZA}", f"diff@{STANZA}", "canary", "drill", "media"):
        unit = host.service(f"djangoprod-backup-{timer}.timer")
        assert unit.is_enabled and unit.is_running, timer
    for unit in (
        "djangoprod-backup-drill.service",
        f"djangoprod-backup-full@{STANZA}.service",
        "djangoprod-backup-media.service",
    ):
        assert exposure(host, unit) <= 2.5, unit


def test_a_backup_and_the_drill_pass_and_say_so(host):
    sql(host, "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, total int)")
    sql(host, "INSERT INTO orders (total) SELECT g FROM generate_series(1, 500) g")
    assert host.run(f"systemctl start djangoprod-backup-diff@{STANZA}.service").rc == 0
    drill = host.run("systemctl start djangoprod-backup-drill.service")
    record = json.loads(host.file("/var/lib/djangoprod/backup/drill.json").content_string)
    assert drill.rc == 0 and record["result"] == "ok", record
    assert any("orders" in note for note in record["notes"]), record["notes"]
    assert any("canary row" in note for note in record["notes"]), record["notes"]
    metrics = host.file("/var/lib/prometheus/node-exporter/djangoprod_backup_drill.prom").content_string
    assert f'djangoprod_backup_drill_success{{stanza="{STANZA}"}} 1' in metrics
    status = host.run("sudo -u postgres djangoprod-backup status").stdout
    assert "last diff" in status and "last drill: ok" in status, status


def test_media_files_go_to_the_bucket_and_come_back(host):
    photo = "/srv/media/uploads/photo.jpg"
    assert host.run(f"echo 'not really a photo' | sudo -u www-data tee {photo}").rc == 0
    assert host.run("systemctl start djangoprod-backup-media.service").rc == 0
    metrics = host.file("/var/lib/prometheus/node-exporter/djangoprod_media_backup.prom").content_string
    assert "djangoprod_media_backup_last_run_success" in metrics and "} 1" in metrics
    assert "<Key>djangoprod/media/shop/djp-backup-" in bucket("djangoprod/media/shop/djp-backup-")
    assert host.run(f"rm {photo}").rc == 0
    out = host.run("cd /tmp && sudo -u www-data djangoprod-backup media-restore")
    assert out.rc == 0, out.stderr
    assert json.loads(out.stdout)["files_restored"] == 1
    assert host.file(photo).content_string == "not really a photo\n"


def test_another_passphrase_is_refused_before_anything_changes(host):
    with host.sudo():
        before = host.file(SECRET).content_string
    run = converge({"backup_cipher_passphrase": "an-entirely-different-passphrase-from-a-vault"})
    assert run.failed
    assert "cannot change once it holds backups" in run.output, run.output[-2000:]
    assert "an-entirely-different-passphrase-from-a-vault" not in run.output
    with host.sudo():
        assert host.file(SECRET).content_string == before
