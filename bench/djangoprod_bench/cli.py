"""Benchmarks of djangoprod.stack: converge, re-run, deploy, zero downtime, serving.

Starts its own fresh test hosts (tests/testhosts/testhost), runs the collection's own
playbooks against them the way a user does, and prints a table plus a JSON file
(.cache/bench/results.json) of:

  1. a fresh converge of the single-host site (wall time, tasks)
  2. an idempotent re-run (wall time, tasks, changed, the ten slowest tasks)
  3. a code-only deploy and a deploy with a changed dependency (wall times)
  4. zero downtime: wrk through nginx during the code-only deploy, a rollback, and a
     rolling deploy in the cluster topology (requests, non-2xx, socket errors)
  5. serving throughput from this machine with wrk (hello view, one-query view, a
     1 KB static file, a 100 KB hashed JS file precompressed) next to bare
     configurations on the same host (nginx `return 200`, the same files from a
     minimal nginx server, a one-view Django project under gunicorn's default options
     behind it), with req/s, p99 and the ratio to the best bare figure
  6. a sweep of gunicorn worker class x worker count on the hello and one-query views,
     with where the role's derived defaults land against the best
  7. backups of a database of about 1 GB: a full backup, a restore beside the running
     cluster (recovered and checked), and the restore drill

Figures are medians of --runs runs. Benchmarks compare with targets and say MISS,
but never fail on time: the exit status is non-zero only when something broke.

  bench/run [--runs N] [--duration S] [--only NAME,...] [--keep]
  names: converge, deploy, downtime, serving, sweep, cluster, backup
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import time
from pathlib import Path

from .backup import bench_backup
from .common import EXAMPLE, OUT, ROOT, SINGLE, TESTHOST, say, sh
from .converge import bench_converge
from .deploy import bench_cluster, bench_deploy
from .inventory import single_inventory
from .report import RESULTS, ROWS
from .runs import playbook
from .serving import bench_serving, bench_sweep


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is quoted)")
    parser.add_argument("--fresh-runs", type=int, default=1, help="fresh converges (each on a new host)")
    parser.add_argument("--cluster-runs", type=int, default=1, help="rolling deploys in the cluster")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each wrk measurement")
    parser.add_argument("--only", default="converge,deploy,serving,sweep,cluster,backup")
    parser.add_argument("--keep", action="store_true", help="keep the hosts afterwards")
    args = parser.parse_args()
    only = set(args.only.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    if not shutil.which("wrk"):
        say("installing wrk from Debian")
        sh(
            [
                "sh",
                "-c",
                "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq wrk >/dev/null || "
                "(apt-get update -qq && apt-get install -y -qq wrk >/dev/null)",
            ]
        )
    sh(["make", "-C", str(ROOT), "venv", "images"])
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    RESULTS["machine"] = {
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "kernel": platform.release(),
        "runs": args.runs,
        "wrk_seconds": args.duration,
    }
    say(f"machine: {os.cpu_count()} cores, {memory} MiB; medians of {args.runs} runs")
    started = time.monotonic()
    inventory = single_inventory(EXAMPLE)
    if "converge" in only or not (OUT / "facts").exists():
        inventory = bench_converge(args)
    if "deploy" in only:
        bench_deploy(args, inventory)
        playbook(inventory, "playbooks/deploy.yml", {"djangoprod_source_path": str(EXAMPLE)})
    if "serving" in only:
        bench_serving(args)
    if "sweep" in only:
        bench_sweep(args, inventory)
    if "backup" in only:
        bench_backup(args)
    if "cluster" in only:
        bench_cluster(args)
    if not args.keep:
        sh([str(TESTHOST), "down", SINGLE["name"]], check=False)
    RESULTS["took_seconds"] = time.monotonic() - started
    (OUT / "results.json").write_text(json.dumps(RESULTS, indent=2, default=str) + "\n")
    print()
    print(f"{'figure':<50} {'value':>22}  {'target':<14} verdict")
    for name, value, target, mark in ROWS:
        print(f"{name:<50} {value:>22}  {target:<14} {mark}")
    print(f"\nbench: results in {OUT / 'results.json'} ({RESULTS['took_seconds'] / 60:.0f} min)")
