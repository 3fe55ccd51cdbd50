# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: sizing maths that roles derive their defaults from (pure functions)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise AnsibleFilterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise AnsibleFilterError(f"{name} must be an integer >= {minimum}, got {value!r}") from exc
    if number < minimum:
        raise AnsibleFilterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def memory_share(memory_mb: object, fraction: object, minimum_mb: object = 0, maximum_mb: object = 0) -> int:
    """`fraction` of `memory_mb`, in whole MB, clamped to [minimum_mb, maximum_mb] (0: no maximum)."""
    memory = _positive_int("memory_mb", memory_mb)
    try:
        share = float(fraction)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"fraction must be a number in (0, 1], got {fraction!r}") from exc
    if not 0 < share <= 1:
        raise AnsibleFilterError(f"fraction must be a number in (0, 1], got {fraction!r}")
    low = _positive_int("minimum_mb", minimum_mb, 0)
    high = _positive_int("maximum_mb", maximum_mb, 0)
    if high and low > high:
        raise AnsibleFilterError(f"minimum_mb ({low}) is above maximum_mb ({high})")
    value = max(int(memory * share), low)
    return min(value, high) if high else value


def postgresql_tuning(
    memory_mb: object, cpus: object, connections: object, storage: str = "ssd"
) -> dict[str, str | int | float]:
    """PostgreSQL settings for a web (OLTP) workload from the memory PostgreSQL may
    plan for, the CPUs, and the connections the applications are expected to open.

    Sizes are returned in kB so that nothing is lost to rounding; PostgreSQL
    reads them as they are.
    """
    memory_kb = _positive_int("memory_mb", memory_mb, 256) * 1024
    cpu_count = _positive_int("cpus", cpus)
    expected = _positive_int("connections", connections)
    if storage not in ("ssd", "hdd"):
        raise AnsibleFilterError(f"storage must be 'ssd' or 'hdd', got {storage!r}")

    # Room above the applications' pools for migrations, admin sessions, monitoring.
    max_connections = max(expected + 10, 20)
    shared_buffers = memory_kb // 4
    parallel_per_gather = max(1, cpu_count // 2)
    # Each connection may run a few sorts/hashes at once, each gather several workers.
    work_mem = max(4096, (memory_kb - shared_buffers) // (max_connections * 3) // parallel_per_gather)
    wal_buffers = min(16384, max(64, shared_buffers * 3 // 100))
    return {
        "max_connections": max_connections,
        "shared_buffers": f"{shared_buffers}kB",
        "effective_cache_size": f"{memory_kb * 3 // 4}kB",
        "maintenance_work_mem": f"{min(memory_kb // 16, 2 * 1024 * 1024)}kB",
        "work_mem": f"{work_mem}kB",
        "wal_buffers": f"{wal_buffers}kB",
        "min_wal_size": "1GB",
        "max_wal_size": "4GB",
        "checkpoint_completion_target": 0.9,
        "random_page_cost": 1.1 if storage == "ssd" else 4.0,
        "effective_io_concurrency": 200 if storage == "ssd" else 2,
        "max_worker_processes": max(8, cpu_count),
        "max_parallel_workers": cpu_count,
        "max_parallel_workers_per_gather": parallel_per_gather,
        "max_parallel_maintenance_workers": parallel_per_gather,
    }


_WORKER_CLASSES = ("sync", "gthread", "uvicorn")


def gunicorn_workers(cpus: object, worker_class: str = "sync") -> dict[str, int]:
    """Gunicorn processes and threads per process for `cpus` CPUs.

    sync: 2 x CPUs + 1 single-threaded workers (the gunicorn rule of thumb: one
    working, one waiting on I/O per CPU). gthread: CPUs + 1 workers of 4 threads.
    uvicorn (ASGI): one event loop per CPU.
    """
    cpu_count = _positive_int("cpus", cpus)
    if worker_class not in _WORKER_CLASSES:
        choices = ", ".join(_WORKER_CLASSES)
        raise AnsibleFilterError(f"worker_class must be one of {choices}, got {worker_class!r}")
    if worker_class == "sync":
        return {"workers": 2 * cpu_count + 1, "threads": 1}
    if worker_class == "gthread":
        return {"workers": cpu_count + 1, "threads": 4}
    return {"workers": cpu_count, "threads": 1}


class FilterModule:
    """djangoprod.stack sizing filters."""

    def filters(self) -> dict[str, object]:
        return {
            "memory_share": memory_share,
            "postgresql_tuning": postgresql_tuning,
            "gunicorn_workers": gunicorn_workers,
        }
