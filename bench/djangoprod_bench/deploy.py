"""3-4. Deploys (code only, a changed dependency), rollbacks and a rolling deploy, with
the requests that failed meanwhile."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from .common import (
    CLUSTER,
    CLUSTER_NET,
    EXAMPLE,
    OUT,
    SINGLE,
    TARGETS,
    TESTHOST,
    host_up,
    key,
    median,
    say,
    sh,
    ssh,
)
from .inventory import cluster_inventory, project_copy
from .load import under_load
from .report import RESULTS, record_downtime, row, verdict
from .runs import playbook


def bench_deploy(args, inventory: Path) -> None:
    say("3-4. deploys: code only (alone, then under load), changed dependency, rollback (under load)")
    url = f"https://{SINGLE['ip']}/hello/"
    code, loaded, rollback, dependency = [], [], [], []
    loads = {"deploy": [], "rollback": []}
    for n in range(args.runs):
        # timed alone: wrk on the same cores would slow the deploy it measures
        source = project_copy(f"code-{n}", greeting=f"Version {n + 2}")
        code.append(
            playbook(inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(source)}).seconds
        )
        source = project_copy(f"code-{n}-loaded", greeting=f"Version {n + 2}, loaded")
        run, load = under_load(
            url, playbook, inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(source)}
        )
        loaded.append(run.seconds)
        loads["deploy"].append(load)
        run, load = under_load(
            url, playbook, inventory, "playbooks/rollback.yml", {"app_rollback_force": True}
        )
        rollback.append(run.seconds)
        loads["rollback"].append(load)
    for n in range(max(1, args.runs // 2)):
        # a new requirement: a new virtualenv is built (the others are reused)
        source = project_copy(f"dependency-{n}", greeting=f"Dependency {n}", requirement=f"sqlparse>=0.4.{n}")
        dependency.append(
            playbook(inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(source)}).seconds
        )
    floors = [
        floor(SINGLE["ip"], project_copy(f"floor-{n}", greeting=f"Floor {n}"), f"Floor {n}")
        for n in range(args.runs)
    ]
    floor_total = median([f["total"] for f in floors])
    # the same deploys on a project with ~1,500 static files (the guestbook's and the admin's, and these)
    project_copy("static-base", static_files=1400)
    playbook(inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(OUT / "sources/static-base")})
    static = []
    for n in range(args.runs):
        source = project_copy(f"static-{n}", greeting=f"Static {n}", static_files=1400)
        static.append(
            playbook(inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(source)}).seconds
        )
    collected = int(
        ssh(
            SINGLE["ip"],
            "find /srv/guestbook/current/ -maxdepth 0 >/dev/null; "
            "find /srv/guestbook/collected/$(basename $(readlink /srv/guestbook/current)) "
            "-type f ! -name '*.gz' ! -name '*.br' | wc -l",
        ).stdout
    )
    RESULTS["deploy"] = {
        "code_only_seconds": median(code),
        "code_only_under_load_seconds": median(loaded),
        "dependency_seconds": median(dependency),
        "rollback_seconds": median(rollback),
        "static_project_seconds": median(static),
        "static_project_files": collected,
        "floor": {k: median([f[k] for f in floors]) for k in floors[0]},
        "ratio_to_floor": median(code) / floor_total,
        "runs": len(code),
    }
    row(
        "code-only deploy (wall)",
        f"{median(code):.1f} s",
        f"<= {TARGETS['code_deploy_s']:.0f} s",
        verdict(median(code) <= TARGETS["code_deploy_s"]),
    )
    parts = ", ".join(f"{k} {v:.1f}" for k, v in RESULTS["deploy"]["floor"].items() if k != "total")
    row("floor: the same release's work on the host", f"{floor_total:.1f} s ({parts})")
    row(
        "code-only deploy / floor",
        f"{median(code) / floor_total:.1f}",
        f"<= {TARGETS['floor_ratio']}",
        verdict(median(code) / floor_total <= TARGETS["floor_ratio"]),
    )
    row(
        f"code-only deploy, {collected} static files (wall)",
        f"{median(static):.1f} s",
        f"<= {TARGETS['code_deploy_static_s']:.0f} s",
        verdict(median(static) <= TARGETS["code_deploy_static_s"]),
    )
    row("code-only deploy under wrk load (wall)", f"{median(loaded):.1f} s")
    row(
        "deploy with a changed dependency (wall)",
        f"{median(dependency):.1f} s",
        f"<= {TARGETS['dependency_deploy_s']:.0f} s",
        verdict(median(dependency) <= TARGETS["dependency_deploy_s"]),
    )
    row("rollback (wall)", f"{median(rollback):.1f} s")
    for name, runs in loads.items():
        record_downtime(f"during the {name}", runs)


# The unavoidable work of a code-only release, done directly on the host in one shell
# script: unpack, one Django process for the checks and collectstatic, switch, reload,
# and the request that shows the new release answers (a request right after the reload
# is answered by the old workers while the new ones start; a deploy that proves its
# release serves waits for them too, so the floor does: it asks until the new greeting
# comes back). The current release's virtualenv and settings are reused, as a deploy
# reuses them; the host is put back as it was afterwards (not timed).
FLOOR = r"""set -eu
root=/srv/guestbook; rel=$root/releases/bench-floor; out=$root/collected/bench-floor
cur=$(readlink $root/current)
# a deploy just before may have restarted gunicorn: start from a running service
for _ in $(seq 50); do systemctl is-active --quiet gunicorn-guestbook.service && break; sleep 0.2; done
rm -rf "$rel" "$out"
now() { date +%s.%N; }
t0=$(now)
mkdir -p "$rel" && tar -xzf /root/bench-floor.tar.gz -C "$rel"
ln -s "$(readlink "$root/$cur/venv")" "$rel/venv"
cp -p "$root/$cur"/djangoprod_*.py "$rel/" && cp -pR "$root/$cur"/djangoprod_db "$rel/"
install -d -o guestbook -g guestbook "$out"
t1=$(now)
DJANGOPROD_WRITABLE=$out /usr/local/libexec/djangoprod/guestbook-run "$rel" -c '
import sys
from django.conf import settings
settings.STATIC_ROOT = sys.argv[1]
import django
django.setup()
from django.core import checks, management
checks.run_checks(include_deployment_checks=True)
management.call_command("collectstatic", interactive=False, verbosity=0)
' "$out"
t2=$(now)
ln -sfn releases/bench-floor "$root/current.floor" && mv -T "$root/current.floor" "$root/current"
systemctl reload-or-restart gunicorn-guestbook.service
t3=$(now)
for _ in $(seq 300); do
  curl -sk --resolve {domain}:443:127.0.0.1 https://{domain}/hello/ | grep -qF "{greeting}" && break
  sleep 0.05
done
t4=$(now)
ln -sfn "$cur" "$root/current.floor" && mv -T "$root/current.floor" "$root/current"
systemctl reload-or-restart gunicorn-guestbook.service
# gunicorn's master still runs in the floor release until it has handled the reload
# (kill -HUP returns at once): remove it once the master has left it.
pid=$(systemctl show -p MainPID --value gunicorn-guestbook.service)
for _ in $(seq 50); do
  [ "$(readlink /proc/$pid/cwd)" != "$rel" ] && break
  sleep 0.2
done
rm -rf "$rel" "$out"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" \
  'BEGIN { print "unpack", b - a, "django", c - b, "switch", d - c, "answer", e - d }'
"""


def floor(ip: str, source: Path, greeting: str) -> dict[str, float]:
    archive = OUT / "bench-floor.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=".", filter=lambda info: None if "__pycache__" in info.name else info)
    options = ["-i", key(), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    sh(["scp", "-q", *options, str(archive), f"root@{ip}:/root/bench-floor.tar.gz"])
    out = ssh(ip, FLOOR.replace("{domain}", ip).replace("{greeting}", greeting)).stdout
    figures = {name: float(value) for name, value in re.findall(r"(\w+) ([\d.]+)", out)}
    figures["total"] = sum(figures.values())
    return figures


def bench_cluster(args) -> None:
    say("4. rolling deploy in the cluster topology (lb, 2 web, db+cache), under load through the lb")
    for name, ip in CLUSTER.items():
        host_up(f"djp-bench-{name}", CLUSTER_NET, ip)
    inventory = cluster_inventory(EXAMPLE)
    playbook(inventory, "site.yml")
    rerun = playbook(inventory, "site.yml")
    RESULTS["cluster_rerun"] = {"seconds": rerun.seconds, "changed": rerun.changed, "tasks": rerun.tasks}
    row(
        "cluster re-run (wall, changed)",
        f"{rerun.seconds:.1f} s, changed={rerun.changed}",
        f"<= {TARGETS['cluster_rerun_s']:.0f} s, 0",
        verdict(rerun.seconds <= TARGETS["cluster_rerun_s"] and rerun.changed == 0),
    )
    url = f"https://{CLUSTER['lb']}/hello/"
    runs, seconds = [], []
    for n in range(args.cluster_runs):
        source = project_copy(f"rolling-{n}", greeting=f"Rolling {n}")
        extra = {"djangoprod_source_path": str(source), "djangoprod_deploy_serial": 1}
        run, load = under_load(url, playbook, inventory, "playbooks/deploy.yml", extra)
        runs.append(load)
        seconds.append(run.seconds)
    RESULTS["rolling_deploy_seconds"] = median(seconds)
    row("rolling deploy, 2 web servers (wall)", f"{median(seconds):.1f} s")
    record_downtime("during a rolling deploy", runs)
    if not args.keep:
        sh([str(TESTHOST), "down", *[f"djp-bench-{n}" for n in CLUSTER]], check=False)
