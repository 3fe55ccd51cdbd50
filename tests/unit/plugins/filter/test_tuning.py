from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.tuning import (
    FilterModule,
    gunicorn_workers,
    memory_share,
    postgresql_tuning,
)


def kb(value: str) -> int:
    assert value.endswith("kB")
    return int(value[:-2])


@pytest.mark.parametrize(
    ("memory", "fraction", "low", "high", "expected"),
    [
        (4096, 0.125, 0, 0, 512),
        (4096, 0.125, 64, 256, 256),
        (256, 0.125, 64, 4096, 64),
        (1000, 1, 0, 0, 1000),
        ("2048", "0.5", "0", "0", 1024),
    ],
)
def test_memory_share(memory, fraction, low, high, expected):
    assert memory_share(memory, fraction, low, high) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0.5), "memory_mb"),
        ((-5, 0.5), "memory_mb"),
        (("lots", 0.5), "memory_mb"),
        ((True, 0.5), "memory_mb"),
        ((1024, 0), "fraction"),
        ((1024, 1.5), "fraction"),
        ((1024, "half"), "fraction"),
        ((1024, 0.5, 512, 256), "minimum_mb"),
        ((1024, 0.5, -1), "minimum_mb"),
    ],
)
def test_memory_share_refuses_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        memory_share(*args)


def test_postgresql_tuning_for_a_small_vps():
    settings = postgresql_tuning(4096, 2, 50)
    assert settings["max_connections"] == 60
    assert kb(settings["shared_buffers"]) == 1024 * 1024
    assert kb(settings["effective_cache_size"]) == 3 * 1024 * 1024
    assert kb(settings["maintenance_work_mem"]) == 256 * 1024
    # (4 GB - 1 GB) / (60 connections * 3 operations) / 1 worker per gather
    assert kb(settings["work_mem"]) == (3 * 1024 * 1024) // 180
    assert kb(settings["wal_buffers"]) == 16384
    assert settings["max_parallel_workers"] == 2
    assert settings["max_parallel_workers_per_gather"] == 1
    assert settings["max_worker_processes"] == 8
    assert settings["random_page_cost"] == 1.1


def test_postgresql_tuning_bounds():
    tiny = postgresql_tuning(256, 1, 1)
    assert tiny["max_connections"] == 20
    assert kb(tiny["work_mem"]) == 4096  # the floor
    # 3% of 64 MB of shared buffers
    assert kb(tiny["wal_buffers"]) == 64 * 1024 * 3 // 100
    big = postgresql_tuning(256 * 1024, 32, 400)
    assert kb(big["maintenance_work_mem"]) == 2 * 1024 * 1024  # the cap
    assert kb(big["wal_buffers"]) == 16384
    assert big["max_worker_processes"] == 32
    assert big["max_parallel_workers_per_gather"] == 16


def test_postgresql_tuning_hdd():
    settings = postgresql_tuning(2048, 2, 10, "hdd")
    assert settings["random_page_cost"] == 4.0
    assert settings["effective_io_concurrency"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((128, 2, 10), "memory_mb"),
        ((4096, 0, 10), "cpus"),
        ((4096, 2, 0), "connections"),
        ((4096, 2, 10, "nvme"), "storage"),
        ((None, 2, 10), "memory_mb"),
    ],
)
def test_postgresql_tuning_refuses_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        postgresql_tuning(*args)


@pytest.mark.parametrize(
    ("cpus", "worker_class", "expected"),
    [
        (1, "sync", {"workers": 3, "threads": 1}),
        (2, "sync", {"workers": 5, "threads": 1}),
        ("4", "sync", {"workers": 9, "threads": 1}),
        (2, "gthread", {"workers": 3, "threads": 4}),
        (2, "uvicorn", {"workers": 2, "threads": 1}),
        (8, "uvicorn", {"workers": 8, "threads": 1}),
    ],
)
def test_gunicorn_workers(cpus, worker_class, expected):
    assert gunicorn_workers(cpus, worker_class) == expected


@pytest.mark.parametrize(("args", "message"), [((0, "sync"), "cpus"), ((2, "eventlet"), "worker_class")])
def test_gunicorn_workers_refuses_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        gunicorn_workers(*args)


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["gunicorn_workers"] is gunicorn_workers
    assert filters["memory_share"] is memory_share
    assert filters["postgresql_tuning"] is postgresql_tuning
