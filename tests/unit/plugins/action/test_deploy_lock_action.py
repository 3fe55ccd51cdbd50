"""deploy_lock's action: this run's identity, and when a holder from this controller is gone."""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.djangoprod.stack.plugins.action.deploy_lock import controller_run, gone


def test_the_run_is_the_process_that_started_the_worker():
    ours = controller_run()
    assert ours["pid"] == os.getppid() and ours["run"].startswith(f"{ours['controller']}:{ours['pid']}:")
    assert ours["start"] and ours["machine"]


def test_a_live_run_on_this_controller_is_not_gone():
    ours = controller_run()
    me = {**ours, "pid": os.getpid(), "start": controller_run.__globals__["_start_time"](os.getpid())}
    assert not gone(me, ours)


def test_an_ended_run_on_this_controller_is_gone():
    ours = controller_run()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = controller_run.__globals__["_start_time"](child.pid)
    child.wait()
    assert gone({**ours, "pid": child.pid, "start": start}, ours)
    # a reused pid: another process now, started at another time
    assert gone({**ours, "pid": os.getpid(), "start": "1"}, ours)


def test_runs_elsewhere_are_never_judged_here():
    ours = controller_run()
    assert not gone({**ours, "controller": "another-machine", "pid": 999999}, ours)
    # the same name in another container on this kernel: its processes are not visible here
    boot = ours["machine"].split(":", maxsplit=1)[0]
    assert not gone({**ours, "machine": boot + ":1", "pid": 999999}, ours)
    # the controller rebooted since
    assert gone({**ours, "machine": "another-boot:1"}, ours)
