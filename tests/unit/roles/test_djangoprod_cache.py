"""The Redis cache backend the app role ships next to the settings: with Redis
unreachable (a real refused connection) it answers as an empty cache, and stops
trying for a while after a failure."""

from __future__ import annotations

import importlib.util
import socket
import time
from pathlib import Path

import django
import pytest
from django.conf import settings

MODULE = Path(__file__).resolve().parents[3] / "roles" / "app" / "files" / "djangoprod_cache.py"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture(scope="module")
def backend():
    if not settings.configured:
        settings.configure()
        django.setup()
    spec = importlib.util.spec_from_file_location("djangoprod_cache", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cache(backend):
    return backend.RedisCache(
        f"redis://127.0.0.1:{closed_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    )


def test_an_unreachable_redis_reads_as_an_empty_cache(cache):
    assert cache.get("page", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("page") is False


def test_writes_to_an_unreachable_redis_are_dropped(cache):
    cache.set("page", "x")
    cache.set_many({"a": 1, "b": 2})
    assert cache.add("page", "x") is False
    assert cache.delete("page") is False
    assert cache.touch("page") is False
    cache.delete_many(["a", "b"])
    cache.clear()


def test_incr_on_an_unreachable_redis_is_a_missing_key(cache):
    with pytest.raises(ValueError, match="not found"):
        cache.incr("hits")


def test_after_a_failure_it_waits_before_trying_again(cache, backend, caplog):
    with caplog.at_level("WARNING", logger="djangoprod.cache"):
        cache.get("page")
        cache.get("page")
    assert [r.getMessage().startswith("cache unreachable") for r in caplog.records] == [True]
    client = cache._cache
    assert client._down_until > time.monotonic()
    assert client._down_until <= time.monotonic() + backend.OUTAGE_SECONDS
    # once the outage window has passed, the next operation tries Redis again
    client._down_until = 0.0
    with caplog.at_level("WARNING", logger="djangoprod.cache"):
        assert cache.get("page", 1) == 1
    assert len(caplog.records) == 2


def test_it_is_still_django_s_redis_cache(cache):
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(cache, RedisCache)
    assert cache.make_key("page") == ":1:page"
