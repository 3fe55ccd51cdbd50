"""7. Backups of a database of about 1 GB: a full backup, a restore and the restore drill.

On the single-host site (its repository is on the same host: the figures are the
work of pgBackRest and PostgreSQL, not of a network). The application's database is
filled to about 1 GB first: half pgbench's tables (which compress about 20 to 1, being
mostly padding) and half random text (about 2 to 1), nearer to what real data
compresses to than either alone."""

from __future__ import annotations

import json
import time

from .common import SINGLE, median, say, ssh
from .report import RESULTS, row

SCALE = 34  # pgbench's scale: about 15 MB each, so about 500 MB
TEXT_ROWS = 3_000_000  # rows of 128 random hexadecimal characters: about 500 MB
RESTORE_DIR = "/var/lib/postgresql/15/bench-restore"


def timed(command: str) -> float:
    started = time.monotonic()
    ssh(SINGLE["ip"], command)
    return time.monotonic() - started


def bench_backup(args) -> None:
    say("7. backups of a database of about 1 GB: full backup, restore, drill")
    ip = SINGLE["ip"]
    psql = "cd /tmp && sudo -u postgres psql -X -At -d guestbook -c"
    ssh(ip, f"cd /tmp && sudo -u postgres /usr/lib/postgresql/15/bin/pgbench -i -q -s {SCALE} guestbook")
    ssh(
        ip,
        f"{psql} 'CREATE TABLE bench_text AS SELECT g AS id, md5(random()::text) || md5(random()::text)"
        f" || md5(random()::text) || md5(random()::text) AS body FROM generate_series(1, {TEXT_ROWS}) g'",
    )
    size = int(ssh(ip, f"{psql} 'SELECT pg_database_size(current_database())'").stdout.strip())
    backups, restores, drills = [], [], []
    try:
        for _run in range(args.runs):
            backups.append(timed("systemctl start djangoprod-backup-full@guestbook.service"))
            restores.append(
                timed(f"cd /tmp && sudo -u postgres djangoprod-backup restore-beside {RESTORE_DIR}")
            )
            ssh(ip, f"rm -rf {RESTORE_DIR}")
            ssh(ip, "systemctl start djangoprod-backup-drill.service")
            record = json.loads(ssh(ip, "cat /var/lib/djangoprod/backup/drill.json").stdout)
            drills.append(float(record["duration_seconds"]))
        info = json.loads(
            ssh(ip, "sudo -u postgres pgbackrest --stanza=guestbook --output=json info").stdout
        )[0]
        stored = info["backup"][-1]["info"]["repository"]["delta"]
    finally:
        ssh(ip, f"rm -rf {RESTORE_DIR}", check=False)
        ssh(
            ip,
            f"{psql} 'DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history,"
            " pgbench_tellers, bench_text'",
            check=False,
        )
    RESULTS["backup"] = {
        "database_bytes": size,
        "repository_bytes": stored,
        "full_backup_seconds": median(backups),
        "restore_seconds": median(restores),
        "drill_seconds": median(drills),
        "runs": len(backups),
    }
    gib = size / 2**30
    row("database size (pgbench scale 34 + random text)", f"{gib:.2f} GiB, {stored / 2**20:.0f} MiB stored")
    row(
        "full backup (zstd, encrypted)", f"{median(backups):.1f} s ({gib / median(backups) * 1024:.0f} MiB/s)"
    )
    row("restore beside, recovered and checked", f"{median(restores):.1f} s")
    row("restore drill (restore, recover, compare, drop)", f"{median(drills):.1f} s")
