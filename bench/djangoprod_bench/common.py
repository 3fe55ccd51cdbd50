"""Paths, hosts, shell and ssh: what every benchmark uses."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTHOST = ROOT / "tests/testhosts/testhost"
OUT = ROOT / ".cache/bench"
EXAMPLE = ROOT / "examples/guestbook"
VENV_BIN = ROOT / ".venv/bin"
SINGLE = {"name": "djp-bench", "ip": "172.30.88.10", "net": "djp-bench"}
CLUSTER = {  # lb, two web servers, and the database + cache on one host
    "lb": "172.30.89.10",
    "web1": "172.30.89.11",
    "web2": "172.30.89.12",
    "data": "172.30.89.20",
}
CLUSTER_NET = "djp-bench-cluster"
TARGETS = {
    "rerun_s": 30.0,  # site.yml re-run, one host
    "cluster_rerun_s": 60.0,  # site.yml re-run, the cluster
    "code_deploy_s": 10.0,  # code-only deploy of the guestbook
    "code_deploy_static_s": 15.0,  # code-only deploy of a project with ~1,500 static files
    "dependency_deploy_s": 25.0,  # a deploy with a changed dependency, warm package cache
    "floor_ratio": 2.5,  # code-only deploy / the same release's unavoidable work
    "hello_rps": 5000.0,
    "static_1k_rps": 40000.0,
    "bare_ratio": 0.8,  # the stack against bare nginx / bare Django
    "sweep_ratio": 0.9,  # the derived gunicorn defaults against the sweep's best
}


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def sh(cmd: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        sys.exit(
            f"bench: {' '.join(map(str, cmd))} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def key() -> str:
    return sh([str(TESTHOST), "key"]).stdout.strip()


def host_up(name: str, net: str, ip: str) -> None:
    sh([str(TESTHOST), "down", name], check=False)
    sh([str(TESTHOST), "up", name, "debian12", net, ip])


def ssh(ip: str, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh(
        [
            "ssh",
            "-i",
            key(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            f"root@{ip}",
            command,
        ],
        check=check,
    )
