# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the deploy_lock module, with the holder read off the controller running it."""

from __future__ import annotations

import getpass
import os
import socket

from ansible.plugins.action import ActionBase


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start, in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    stat = _read(f"/proc/{pid}/stat")
    return stat.rpartition(")")[2].split()[19] if stat else ""


def controller_run() -> dict:
    """This ansible-playbook run: the task's worker is a child of the playbook's process."""
    pid = os.getppid()
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    machine = f"{_read('/proc/sys/kernel/random/boot_id')}:{namespace}"
    controller = socket.gethostname()
    start = _start_time(pid)
    return {
        "run": f"{controller}:{pid}:{start or 'na'}",
        "controller": controller,
        "machine": machine,
        "pid": pid,
        "start": start,
        "user": os.environ.get("USER") or getpass.getuser(),
    }


def gone(holder: dict, ours: dict) -> bool:
    """Whether a holder from this same controller (and kernel, and pid namespace) has ended."""
    if holder.get("controller") != ours["controller"]:
        return False
    machine = holder.get("machine", "")
    boot = machine.split(":", 1)[0]
    if boot and boot != ours["machine"].split(":", 1)[0]:
        return True  # the controller rebooted since
    if machine != ours["machine"]:
        return False  # another container on the same host: its processes are not ours to see
    pid = int(holder.get("pid") or 0)
    if pid <= 0:
        return False
    if holder.get("start"):
        return _start_time(pid) != holder["start"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe(holder: dict) -> str:
    return (
        f"{holder.get('what') or 'a run'} by {holder.get('user', '?')} from {holder.get('controller', '?')} "
        f"since {holder.get('since', '?')} (run {holder.get('run', '?')})"
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def _lock(self, args: dict, task_vars: dict) -> dict:
        return self._execute_module("djangoprod.stack.deploy_lock", module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname")
        args = dict(self._task.args)
        ours = controller_run()
        args["holder"] = {**(args.get("holder") or {}), **ours}

        outcome = self._lock(args, task_vars)
        other = outcome.get("holder") or {}
        if outcome.get("conflict") and args.get("state", "locked") == "locked" and gone(other, ours):
            args["takeover"] = other.get("run", "")
            outcome = self._lock(args, task_vars)
            other = outcome.get("holder") or {}
        result.update(outcome)
        if outcome.get("failed") or not outcome.get("conflict") or args.get("state") == "unlocked":
            if outcome.get("abandoned"):
                self._display.warning(
                    f"{host}: took over the lock {args['name']} from a run that is gone "
                    f"({describe(outcome['abandoned'])}); what it left half done is cleaned up by this run."
                )
            return result
        held = describe(other)
        if self._play_context.check_mode:
            self._display.warning(f"{host}: {args['name']} is locked by {held}.")
            return result
        result["failed"] = True
        result["msg"] = (
            f"Another run holds the lock {args['name']} on {host}: {held}. "
            "Nothing was changed. Wait for it to end and run again. A run that died on this controller "
            "is noticed by itself; one from another controller once it has not renewed the lock for "
            f"{args.get('lease', 3600)} s, or at once with "
            f"-e djangoprod_lock_takeover={other.get('run', '')} when you know it is gone."
        )
        return result
