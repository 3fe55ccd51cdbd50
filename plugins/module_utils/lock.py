# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock's file under /run/djangoprod, the audit log and the last-run metrics
(deploy_lock, and app_serve, which gives the app's lock back when a release serves)."""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import json
import os
import time

LOCK_DIR = "/run/djangoprod"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def seconds_since(stamp: str) -> float:
    try:
        return time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return float("inf")


def append_audit(module, path: str | None, entry: dict) -> None:
    if not path:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    keys = ("what", "result", "by", "controller", "to")
    summary = " ".join(f"{key}={entry[key]}" for key in keys if entry.get(key))
    module.log(f"djangoprod {os.path.basename(os.path.dirname(path))}: {summary}")


METRICS = (
    (
        "djangoprod_deploy_last_run_success",
        "Whether the last run of each kind (deploy, rollback, site) succeeded",
    ),
    ("djangoprod_deploy_last_run_timestamp_seconds", "When the last run of each kind ended"),
)


def write_metrics(directory: str | None, name: str, app: str, what: str, ok: bool) -> None:
    """Keep the last result of each kind of run in node exporter's textfile directory."""
    if not directory or not what or not os.path.isdir(directory):
        return
    path = os.path.join(directory, f"djangoprod_deploy_{name}.prom")
    runs: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(METRICS[0][0] + "{"):
                labels, value = line.rsplit(" ", 1)
                kind = labels.split('what="', 1)[1].split('"', 1)[0]
                runs[kind] = (value.strip(), runs.get(kind, ("", ""))[1])
            elif line.startswith(METRICS[1][0] + "{"):
                labels, value = line.rsplit(" ", 1)
                kind = labels.split('what="', 1)[1].split('"', 1)[0]
                runs[kind] = (runs.get(kind, ("", ""))[0], value.strip())
    runs[what] = ("1" if ok else "0", str(int(time.time())))
    out = []
    for index, (metric, helptext) in enumerate(METRICS):
        out += [f"# HELP {metric} {helptext}", f"# TYPE {metric} gauge"]
        out += [
            f'{metric}{{app="{app}",what="{kind}"}} {values[index]}'
            for kind, values in sorted(runs.items())
            if values[index]
        ]
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


@contextlib.contextmanager
def lock_file(name: str, lock_dir: str = LOCK_DIR):
    """The lock's file, open and flock'ed (two modules of different runs never read and
    write it at the same moment), with what it holds: (handle, holder record)."""
    os.makedirs(lock_dir, mode=0o755, exist_ok=True)
    fd = os.open(os.path.join(lock_dir, f"{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        current: dict = {}
        with contextlib.suppress(ValueError):
            current = json.loads(text) if text.strip() else {}
        yield handle, current


def write_lock(handle, content: dict) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(content, sort_keys=True) if content else "")
    handle.flush()
    os.fsync(handle.fileno())


def give_back(module, handle, current: dict, name: str, holder: dict, options: dict) -> dict:
    """Give back the lock `current` records (held by `holder`'s run): append the run's
    line to options' audit_log, keep its result in options' metrics_directory; returns
    the line. options: audit_log, audit, metrics_directory, metrics_app."""
    entry = {
        **(options.get("audit") or {}),
        "what": holder.get("what", ""),
        "by": holder.get("user", ""),
        "controller": holder.get("controller", ""),
        "run": holder["run"],
        "started": current.get("since", ""),
        "at": now(),
    }
    if current.get("since"):
        entry["seconds"] = round(seconds_since(current["since"]))
    if not module.check_mode:
        append_audit(module, options.get("audit_log"), entry)
        if entry.get("result") in ("ok", "failed"):
            write_metrics(
                options.get("metrics_directory"),
                name,
                options.get("metrics_app") or name,
                entry["what"],
                entry["result"] == "ok",
            )
        write_lock(handle, {})
    return entry
