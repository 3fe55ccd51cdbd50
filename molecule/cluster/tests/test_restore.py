"""Backups with a proven restore, on the cluster (runs after test_cluster.py): pgBackRest
archives the database server's WAL into an encrypted repository on the backup host
(the cache server here) over SSH; the restore drill passes and fails on a corrupted
repository; restore.yml refuses bad requests, restores to a point in time beside the
running cluster and switches; a crash loses at most archive_timeout of commits.

Each test names the host it runs on; testinfra's `host` is not used."""

from __future__ import annotations

import json
import os
import time

import pytest
import testinfra
from conftest import converge, host_address, request

NAME = "guestbook.test"
STANZA = "guestbook"
DATA = "/var/lib/postgresql/15/main"
RESTORE = "../../playbooks/restore.yml"
# molecule.yml sets backup_archive_timeout to this (60 s by default).
ARCHIVE_TIMEOUT = 10


@pytest.fixture(scope="module")
def db():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://djp-cluster-db?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def repo():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://djp-cluster-cache?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def web1():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://djp-cluster-web1?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def lb_address() -> str:
    return host_address("djp-cluster-lb")


def sql(db, statement: str, database: str = "guestbook") -> str:
    out = db.run(
        f"cd /tmp && sudo -u postgres psql -X -q -At -v ON_ERROR_STOP=1 -d {database} -c {statement!r}"
    )
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def backup_info(repo) -> dict:
    out = repo.run(f"sudo -u postgres pgbackrest --stanza={STANZA} --output=json info")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)[0]


def archived(db) -> None:
    """Switch to a new WAL segment and wait until the finished one is in the repository."""
    segment = sql(db, "SELECT pg_walfile_name(pg_switch_wal())", "postgres")
    for _attempt in range(60):
        if sql(db, "SELECT last_archived_wal FROM pg_stat_archiver", "postgres") >= segment:
            return
        time.sleep(0.5)
    raise AssertionError(f"{segment} was not archived within 30 s")


def passphrase(repo) -> str:
    out = repo.run("cat /etc/djangoprod/secrets/backup-repository")
    assert out.rc == 0 and len(out.stdout.strip()) >= 32, out.stderr
    return out.stdout.strip()


def test_backups_go_to_the_backup_host_encrypted(db, repo):
    info = backup_info(repo)
    assert info["status"]["code"] == 0, info["status"]
    assert info["cipher"] == "aes-256-cbc"
    assert [b for b in info["backup"] if b["type"] == "full"], info["backup"]
    # taken where the repository is, on timers; the drill and the canary on the database server
    for timer in (f"djangoprod-backup-full@{STANZA}.timer", f"djangoprod-backup-diff@{STANZA}.timer"):
        assert repo.service(timer).is_enabled and repo.service(timer).is_running, timer
    for timer in ("djangoprod-backup-drill.timer", "djangoprod-backup-canary.timer"):
        assert db.service(timer).is_enabled, timer
    assert not db.file("/etc/djangoprod/secrets/backup-repository").exists
    # WAL reaches the repository
    assert (
        sql(
            db,
            "SELECT failed_count = 0 OR last_failed_time < last_archived_time FROM pg_stat_archiver",
            "postgres",
        )
        == "t"
    )
    # metrics for monitoring, in node exporter's textfile directory
    metrics = repo.file("/var/lib/prometheus/node-exporter/djangoprod_backup.prom").content_string
    assert f'djangoprod_backup_last_run_success{{stanza="{STANZA}"}} 1' in metrics
    # the units are hardened
    analyzed = repo.run(f"systemd-analyze security djangoprod-backup-full@{STANZA}.service | tail -n 1")
    assert float(analyzed.stdout.split("level for")[1].split(":")[1].split()[0]) <= 2.5, analyzed.stdout


def test_the_backup_secrets_are_not_readable(db, repo):
    secret = passphrase(repo)
    assert repo.file("/etc/djangoprod/secrets/backup-repository").mode == 0o600
    config = repo.file("/etc/pgbackrest/pgbackrest.conf")
    assert (config.user, config.group, config.mode) == ("root", "postgres", 0o640)
    for host in (db, repo):
        # in no file anyone may read, and not in the journal
        found = host.run(
            "find /etc /var /srv /tmp /run -xdev -type f -perm -o=r -size -2M 2>/dev/null"
            f" | xargs -r grep -lF -- {secret!r} 2>/dev/null"
        )
        assert found.stdout.strip() == "", found.stdout
        assert host.run(f"journalctl --no-pager | grep -cF -- {secret!r}").stdout.strip() == "0"
    # the peers may run pgBackRest over their keys, and nothing else
    out = db.run(f"sudo -u postgres ssh -o BatchMode=yes {host_address('djp-cluster-cache')} id")
    assert "uid=" not in out.stdout and "invalid command 'id'" in out.stdout + out.stderr, out


def test_the_drill_passes_and_fails_on_a_corrupted_repository(db, repo):
    sql(db, "SELECT 1")
    db.run("systemctl start djangoprod-backup-canary.service")
    repo.run(f"systemctl start djangoprod-backup-diff@{STANZA}.service")
    drill = converge(None, "../../playbooks/drill.yml")
    record = json.loads(db.file("/var/lib/djangoprod/backup/drill.json").content_string)
    assert not drill.failed and "The drill passed" in drill.output, drill.output[-2000:]
    assert record["result"] == "ok", record
    assert any("canary row" in note for note in record["notes"]), record
    metrics = db.file("/var/lib/prometheus/node-exporter/djangoprod_backup_drill.prom").content_string
    assert f'djangoprod_backup_drill_success{{stanza="{STANZA}"}} 1' in metrics
    assert not db.file("/var/lib/postgresql/djangoprod-drill").exists
    print(f"restore drill: {record['duration_seconds']} s ({record['notes'][0]})")

    # the largest file of the newest backup, damaged
    newest = backup_info(repo)["backup"][-1]["label"]
    victim = repo.run(
        f"find /var/lib/pgbackrest/backup/{STANZA}/{newest} -type f -path '*pg_data*' -printf '%s %p\\n'"
        " | sort -n | tail -n 1 | cut -d' ' -f2"
    ).stdout.strip()
    assert victim, newest
    repo.run(f"cp -p {victim} /root/saved && printf 'damaged' | dd of={victim} bs=1 seek=64 conv=notrunc")
    try:
        drill = converge(None, "../../playbooks/drill.yml")
        record = json.loads(db.file("/var/lib/djangoprod/backup/drill.json").content_string)
        assert drill.failed and "The drill FAILED" in drill.output, drill.output[-2000:]
        assert record["result"] == "failed", record
        assert record["problems"], record
        metrics = db.file("/var/lib/djangoprod/backup/drill.prom").content_string
        assert f'djangoprod_backup_drill_success{{stanza="{STANZA}"}} 0' in metrics
        journal = db.run("journalctl -u djangoprod-backup-drill --no-pager -n 20").stdout
        assert "drill: FAILED" in journal
        failed = db.run("journalctl -t djangoprod-backup -p err --no-pager -n 5").stdout
        assert "djangoprod-backup-drill.service failed" in failed
        assert not db.file("/var/lib/postgresql/djangoprod-drill").exists
    finally:
        repo.run(f"mv /root/saved {victim}")


def test_restore_refuses_bad_requests_and_changes_nothing(db, lb_address):
    before = db.run(f"stat -c %i {DATA}").stdout
    cases = [
        ({}, "djangoprod_restore_confirm=guestbook"),
        (
            {"djangoprod_restore_confirm": STANZA, "djangoprod_restore_target": "2099-01-01 00:00:00+00"},
            "is in the future",
        ),
        (
            {"djangoprod_restore_confirm": STANZA, "djangoprod_restore_target": "around noon"},
            "is not a time PostgreSQL reads",
        ),
        (
            {"djangoprod_restore_confirm": STANZA, "djangoprod_restore_target": "2001-01-01 00:00:00+00"},
            "is before the oldest backup ended",
        ),
        ({"djangoprod_restore_confirm": "nope", "backup_stanza": "nope"}, "The stanza nope has no backup"),
    ]
    for extra_vars, message in cases:
        run = converge(extra_vars, RESTORE)
        assert run.failed and message in run.output, (extra_vars, run.output[-2000:])
        assert "Turn maintenance on" not in run.changed_tasks
    assert request(lb_address, NAME, "/").status == 200
    assert db.run(f"stat -c %i {DATA}").stdout == before
    assert not db.file(f"{DATA}.restoring").exists


def test_uploads_in_a_bucket_are_not_backed_up_from_the_web_servers(web1, repo):
    # The uploads live in the bucket (djangoprod_media_s3), which keeps them: no restic
    # timer on a web server, no media repository on the backup host.
    assert not web1.file("/etc/systemd/system/djangoprod-backup-media.timer").exists
    assert not web1.file("/etc/djangoprod/backup-media.json").exists
    assert not repo.file("/var/lib/djangoprod-media/guestbook").exists


def test_restore_to_a_point_in_time(db, repo, lb_address):
    sql(db, "DROP TABLE IF EXISTS probe")
    sql(db, "CREATE TABLE probe (id serial PRIMARY KEY, note text NOT NULL)")
    sql(db, "INSERT INTO probe (note) SELECT 'before the backup' FROM generate_series(1, 5)")
    assert repo.run(f"systemctl start djangoprod-backup-diff@{STANZA}.service").rc == 0
    sql(db, "INSERT INTO probe (note) SELECT 'after the backup' FROM generate_series(1, 3)")
    time.sleep(1)
    target = sql(db, "SELECT now()")
    time.sleep(1)
    sql(db, "INSERT INTO probe (note) SELECT 'after the target' FROM generate_series(1, 4)")
    sql(db, "DROP TABLE probe")

    run = converge({"djangoprod_restore_confirm": STANZA, "djangoprod_restore_target": target}, RESTORE)
    assert not run.failed, run.output[-3000:]
    assert passphrase(repo) not in run.output
    notes = dict(
        line.split("|") for line in sql(db, "SELECT note, count(*) FROM probe GROUP BY note").splitlines()
    )
    assert notes == {"before the backup": "5", "after the backup": "3"}, notes
    # the replaced data is kept beside; the app serves again, through the load balancer
    kept = db.run(f"ls -d {DATA}.before-restore-*").stdout.split()
    assert len(kept) == 1, kept
    assert request(lb_address, NAME, "/").status == 200
    assert request(lb_address, NAME, "/").header("Retry-After") is None
    # the new timeline is archived
    archived(db)


def test_a_crash_loses_at_most_archive_timeout_of_commits(db, lb_address):
    sql(
        db,
        "CREATE TABLE IF NOT EXISTS ticks"
        " (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())",
    )
    for _tick in range(10):
        sql(db, "INSERT INTO ticks DEFAULT VALUES")
        time.sleep(0.5)
    last = sql(db, "SELECT extract(epoch FROM max(at)) FROM ticks")
    committed = int(sql(db, "SELECT count(*) FROM ticks"))
    time.sleep(ARCHIVE_TIMEOUT + 10)
    # PostgreSQL stops without a checkpoint, as in a crash, and its data is gone
    assert db.run("pg_ctlcluster 15 main stop -m immediate").rc == 0

    run = converge({"djangoprod_restore_confirm": STANZA}, RESTORE)
    assert not run.failed, run.output[-3000:]
    restored = int(sql(db, "SELECT count(*) FROM ticks"))
    newest = sql(db, "SELECT coalesce(extract(epoch FROM max(at)), 0) FROM ticks")
    lost = float(last) - float(newest)
    print(
        f"crash: {committed - restored} of {committed} commits lost, {lost:.1f} s of work "
        f"(archive_timeout {ARCHIVE_TIMEOUT} s)"
    )
    assert lost <= ARCHIVE_TIMEOUT, (committed, restored, lost)
    assert request(lb_address, NAME, "/").status == 200
    # the earlier restores' data directories go when asked
    run = converge({"djangoprod_restore_remove_previous": True}, RESTORE)
    assert not run.failed, run.output[-2000:]
    assert db.run(f"ls -d {DATA}.before-restore-* 2>/dev/null").stdout.strip() == ""
    assert db.file(DATA).is_directory
