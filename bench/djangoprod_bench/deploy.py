"""3-4. Deploys (code only, a changed dependency), rollbacks and a rolling deploy, with
the requests that failed meanwhile."""

from __future__ import annotations

from pathlib import Path

from .common import CLUSTER, CLUSTER_NET, EXAMPLE, SINGLE, TARGETS, TESTHOST, host_up, median, say, sh
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
    RESULTS["deploy"] = {
        "code_only_seconds": median(code),
        "code_only_under_load_seconds": median(loaded),
        "dependency_seconds": median(dependency),
        "rollback_seconds": median(rollback),
        "runs": len(code),
    }
    row(
        "code-only deploy (wall)",
        f"{median(code):.1f} s",
        "<= 20 s",
        verdict(median(code) <= TARGETS["code_deploy_s"]),
    )
    row("code-only deploy under wrk load (wall)", f"{median(loaded):.1f} s")
    row("deploy with a changed dependency (wall)", f"{median(dependency):.1f} s")
    row("rollback (wall)", f"{median(rollback):.1f} s")
    for name, runs in loads.items():
        record_downtime(f"during the {name}", runs)


def bench_cluster(args) -> None:
    say("4. rolling deploy in the cluster topology (lb, 2 web, db+cache), under load through the lb")
    for name, ip in CLUSTER.items():
        host_up(f"djp-bench-{name}", CLUSTER_NET, ip)
    inventory = cluster_inventory(EXAMPLE)
    playbook(inventory, "site.yml")
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
