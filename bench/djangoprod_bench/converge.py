"""1-2. A fresh converge of the single-host site and its idempotent re-runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import EXAMPLE, OUT, SINGLE, TARGETS, host_up, median, say
from .inventory import single_inventory
from .report import RESULTS, row, verdict
from .runs import playbook


def bench_converge(args) -> Path:
    say("1-2. fresh converge and idempotent re-run of the single-host site")
    fresh, reruns, inventory = [], [], single_inventory(EXAMPLE)
    for _fresh in range(args.fresh_runs):
        host_up(SINGLE["name"], SINGLE["net"], SINGLE["ip"])
        shutil.rmtree(OUT / "facts", ignore_errors=True)
        fresh.append(playbook(inventory, "site.yml"))
    for _rerun in range(args.runs):
        reruns.append(playbook(inventory, "site.yml"))
    last = reruns[-1]
    RESULTS["fresh_converge"] = {
        "seconds": median([r.seconds for r in fresh]),
        "tasks": fresh[-1].tasks,
        "runs": len(fresh),
    }
    RESULTS["rerun"] = {
        "seconds": median([r.seconds for r in reruns]),
        "tasks": last.tasks,
        "changed": max(r.changed for r in reruns),
        "changed_tasks": sorted({t for r in reruns for t in r.changed_tasks()}),
        "slowest": last.slowest(10),
        "runs": len(reruns),
    }
    row(
        "fresh converge (wall, tasks)",
        f"{RESULTS['fresh_converge']['seconds']:.0f} s, {fresh[-1].tasks} tasks",
    )
    rerun = RESULTS["rerun"]
    row(
        "re-run (wall, tasks)",
        f"{rerun['seconds']:.1f} s, {rerun['tasks']} tasks",
        "<= 30 s",
        verdict(rerun["seconds"] <= TARGETS["rerun_s"]),
    )
    row("re-run changed", str(rerun["changed"]), "0", verdict(rerun["changed"] == 0))
    for name, seconds in rerun["slowest"]:
        print(f"        {seconds:6.2f} s  {name}")
    checked = playbook(inventory, "site.yml", check=False, args=["--check"])
    RESULTS["check_run"] = {"seconds": checked.seconds, "rc": checked.rc, "changed": checked.changed}
    row(
        "site.yml --check on the converged host",
        f"{checked.seconds:.1f} s, rc={checked.rc}, changed={checked.changed}",
        "passes, changed=0",
        verdict(checked.rc == 0 and checked.changed == 0),
    )
    return inventory
