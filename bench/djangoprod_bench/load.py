"""Load from this machine with wrk, alone or while an action runs."""

from __future__ import annotations

import re
import subprocess
import time

from .common import sh


class Wrk:
    """wrk from this machine: req/s, p99 latency, non-2xx and socket errors."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        self.requests = int(re.search(r"(\d+) requests in", output).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        self.p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        self.non2xx = int(non2xx.group(1)) if non2xx else 0
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        kinds = ("connect", "read", "write", "timeout")
        counts = map(int, errors.groups()) if errors else [0] * len(kinds)
        self.errors = dict(zip(kinds, counts, strict=True))
        self.socket_errors = sum(self.errors.values())


def wrk_command(
    url: str, seconds: float, connections: int = 32, headers: dict | None = None, timeout: int = 2
) -> list[str]:
    cmd = [
        "wrk",
        "--latency",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout}s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    return [*cmd, url]


def wrk(url: str, seconds: float, connections: int = 32, headers: dict | None = None) -> Wrk:
    return Wrk(sh(wrk_command(url, seconds, connections, headers)).stdout)


def under_load(url: str, action, *args, seconds: float = 600):
    """Runs `action(*args)` while wrk loads `url`; wrk stops once the action is done."""
    # A late answer is not a failed one: wrk waits up to gunicorn's worker timeout (its
    # own default, 2 s, counts a request delayed by a reload on a busy host as an error).
    proc = subprocess.Popen(
        wrk_command(url, seconds, connections=8, timeout=30),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    try:
        result = action(*args)
    finally:
        time.sleep(1)
        proc.send_signal(2)  # SIGINT: wrk prints its figures for the time it ran
        out = proc.communicate(timeout=30)[0]
    return result, Wrk(out)
