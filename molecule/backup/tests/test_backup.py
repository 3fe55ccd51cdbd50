"""The backup role alone: pgBackRest archiving PostgreSQL's WAL into an encrypted
repository on the same host (warned), a first backup, hardened timers, a restore drill
that passes, and a passphrase that cannot change under the repository."""

from __future__ import annotations

import json

from conftest import converge, exposure

STANZA = "shop"
SECRET = "/etc/djangoprod/secrets/backup-repository"


def sql(host, statement: str, database: str = "shop") -> str:
    out = host.run(f"cd /tmp && sudo -u postgres psql -X -q -At -v ON_ERROR_STOP=1 -d {database} -c {statement!r}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def test_wal_is_archived_into_an_encrypted_repository(host):
    assert sql(host, "SHOW archive_mode", "postgres") == "on"
    assert sql(host, "SHOW archive_command", "postgres") == f"pgbackrest --stanza={STANZA} archive-push %p"
    segment = sql(host, "SELECT pg_walfile_name(pg_switch_wal())", "postgres")
    host.run("sleep 3")
    assert sql(host, "SELECT last_archived_wal FROM pg_stat_archiver", "postgres") >= segment
    info = json.loads(host.run(f"sudo -u postgres pgbackrest --stanza={STANZA} --output=json info").stdout)[0]
    assert info["status"]["code"] == 0 and info["cipher"] == "aes-256-cbc", info["status"]
    assert [b for b in info["backup"] if b["type"] == "full"], info["backup"]
    # the repository's files cannot be read without the passphrase: OpenSSL's salted
    # format, and no file name of the cluster in plain text anywhere
    with host.sudo():
        assert host.run(f"head -c 8 /var/lib/pgbackrest/backup/{STANZA}/backup.info").stdout == "Salted__"
        plain = host.run(f"grep -rl PG_VERSION /var/lib/pgbackrest/backup/{STANZA}")
    assert plain.rc == 1 and plain.stdout == "", plain.stdout


def test_the_passphrase_and_configuration_are_root_only(host):
    secret = host.file(SECRET)
    assert (secret.user, secret.mode) == ("root", 0o600)
    config = host.file("/etc/pgbackrest/pgbackrest.conf")
    assert (config.user, config.group, config.mode) == ("root", "postgres", 0o640)
    with host.sudo():
        passphrase = host.file(SECRET).content_string.strip()
    found = host.run(
        "find /etc /var /tmp /run -xdev -type f -perm -o=r -size -2M 2>/dev/null"
        f" | xargs -r grep -lF -- {passphrase!r} 2>/dev/null"
    )
    assert found.stdout.strip() == ""


def test_the_units_are_hardened_timers(host):
    for timer in (f"full@{STANZA}", f"diff@{STANZA}", "canary", "drill"):
        unit = host.service(f"djangoprod-backup-{timer}.timer")
        assert unit.is_enabled and unit.is_running, timer
    assert exposure(host, "djangoprod-backup-drill.service") <= 2.5
    assert exposure(host, f"djangoprod-backup-full@{STANZA}.service") <= 2.5


def test_a_backup_and_the_drill_pass_and_say_so(host):
    sql(host, "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, total int)")
    sql(host, "INSERT INTO orders (total) SELECT g FROM generate_series(1, 500) g")
    assert host.run(f"systemctl start djangoprod-backup-diff@{STANZA}.service").rc == 0
    drill = host.run("systemctl start djangoprod-backup-drill.service")
    record = json.loads(host.file("/var/lib/djangoprod/backup/drill.json").content_string)
    assert drill.rc == 0 and record["result"] == "ok", record
    assert any("orders" in note for note in record["notes"]), record["notes"]
    metrics = host.file("/var/lib/prometheus/node-exporter/djangoprod_backup_drill.prom").content_string
    assert f'djangoprod_backup_drill_success{{stanza="{STANZA}"}} 1' in metrics
    status = host.run("sudo -u postgres djangoprod-backup status").stdout
    assert "last diff" in status and "last drill: ok" in status, status


def test_a_check_run_warns_and_changes_nothing(host):
    run = converge(check=True)
    assert run.rc == 0, run.output[-3000:]
    assert run.changed_tasks == [], run.changed_tasks
    assert "BACKUPS ON THE SAME DISK" in run.output


def test_another_passphrase_is_refused_before_anything_changes(host):
    with host.sudo():
        before = host.file(SECRET).content_string
    run = converge({"backup_cipher_passphrase": "an-entirely-different-passphrase-from-a-vault"})
    assert run.failed
    assert "cannot change once it holds backups" in run.output, run.output[-2000:]
    assert "an-entirely-different-passphrase-from-a-vault" not in run.output
    with host.sudo():
        assert host.file(SECRET).content_string == before
