"""ansible-playbook runs: wall time, tasks, changes, the slowest tasks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .common import OUT, ROOT, VENV_BIN


class Run:
    def __init__(self, rc: int, seconds: float, output: str) -> None:
        self.rc, self.seconds, self.output = rc, seconds, output
        recap = re.findall(
            r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)", output
        )
        self.ok = sum(int(r[0]) for r in recap)
        self.changed = sum(int(r[1]) for r in recap)
        self.failed = sum(int(r[2]) for r in recap)
        self.skipped = sum(int(r[3]) for r in recap)
        self.tasks = self.ok + self.skipped + self.failed

    def slowest(self, n: int = 10) -> list[tuple[str, float]]:
        found = re.findall(r"^(.+?) -{2,} (\d+\.\d+)s$", self.output, re.M)
        return sorted(((name.strip(), float(s)) for name, s in found), key=lambda x: -x[1])[:n]

    def changed_tasks(self) -> list[str]:
        names, task = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed:") and task:
                names.append(task)
        return names


def playbook(
    inventory: Path, book: str, extra: dict | None = None, check: bool = True, args: list[str] | None = None
) -> Run:
    """One ansible-playbook run; `check`: stop the bench when it fails; `args`: more options."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "10",
        # the benchmark's own fact cache: a fresh host must not get an old host's facts
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(OUT / "facts"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    cmd = ["ansible-playbook", "-i", str(inventory), book]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    cmd += args or []
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    run = Run(proc.returncode, time.monotonic() - start, proc.stdout + proc.stderr)
    log = OUT / "logs" / f"{int(time.time() * 1000)}-{Path(book).stem}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(" ".join(cmd) + "\n" + run.output)
    if check and run.rc != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed; log: {log}\n{run.output[-4000:]}")
    return run
