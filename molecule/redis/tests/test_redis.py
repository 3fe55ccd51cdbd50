"""The redis role alone: real clients from the controller, ACLs, limits, restarts."""

from __future__ import annotations

import pytest
import redis
from conftest import assert_refused, converge, exposure, main_pid

SECRET_FILE = "/etc/redis/djangoprod-app.secret"


@pytest.fixture(scope="module")
def app_password(host) -> str:
    with host.sudo():
        return host.file(SECRET_FILE).content_string.strip()


@pytest.fixture
def app(address, app_password):
    client = redis.Redis(host=address, username="app", password=app_password, socket_timeout=5)
    yield client
    client.close()


def test_redis_runs_hardened(host):
    assert host.service("redis-server").is_running
    assert host.service("redis-server").is_enabled
    assert exposure(host, "redis-server.service") <= 2.0


def test_secret_is_root_only_and_config_holds_no_plain_password(host, app_password):
    secret = host.file(SECRET_FILE)
    assert (secret.user, secret.group, secret.mode) == ("root", "root", 0o600)
    conf = host.file("/etc/redis/redis.conf")
    assert conf.mode == 0o640
    with host.sudo():
        assert app_password not in conf.content_string


def test_binds_loopback_and_the_private_address_only(host, address):
    listening = {s for s in host.socket.get_listening_sockets() if s.endswith(":6379")}
    assert {"tcp://127.0.0.1:6379", f"tcp://{address}:6379"} <= listening
    assert listening <= {"tcp://127.0.0.1:6379", "tcp://::1:6379", f"tcp://{address}:6379"}


def test_unauthenticated_command_is_refused(address):
    anonymous = redis.Redis(host=address, socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.get("anything")


def test_default_user_is_disabled(address, app_password):
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=address, password=app_password, socket_timeout=5).ping()


def test_app_user_reads_and_writes(app):
    assert app.set("djangoprod:test", "value")
    assert app.get("djangoprod:test") == b"value"


@pytest.mark.parametrize(
    "command",
    [
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("CONFIG", "GET", "*"),
        ("KEYS", "*"),
        ("DEBUG", "SLEEP", "0"),
        # The ACL itself: reading the users' hashes, or granting itself every command.
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "app", "+@all"),
        ("ACL", "SAVE"),
        ("CLIENT", "LIST"),
        ("CLIENT", "KILL", "TYPE", "normal"),
        ("SHUTDOWN", "NOSAVE"),
        ("SWAPDB", "0", "1"),
        ("MIGRATE", "127.0.0.1", "6380", "x", "0", "1000"),
    ],
)
def test_app_user_may_not_run_dangerous_commands(app, command):
    # NOPERM from the ACL; DEBUG is also switched off server-wide (enable-debug-command).
    refused = r"no permissions to run|DEBUG command not allowed"
    with pytest.raises(redis.exceptions.ResponseError, match=refused):
        app.execute_command(*command)
    assert app.get("djangoprod:test") == b"value"


def test_app_user_keeps_what_apps_use(app):
    # Django's cache, Celery's broker and results: scripts, transactions, pub/sub, scans.
    assert app.eval("return redis.call('INCR', KEYS[1])", 1, "djangoprod:counter") >= 1
    with app.pipeline(transaction=True) as pipe:
        pipe.lpush("djangoprod:queue", "job").brpop("djangoprod:queue", timeout=1)
        assert pipe.execute()[1] == (b"djangoprod:queue", b"job")
    assert app.publish("djangoprod:events", "hello") == 0
    assert list(app.scan_iter("djangoprod:*"))
    assert app.acl_whoami() == "app"


def test_memory_limit_and_policy_of_a_cache(app):
    memory = app.info("memory")
    assert memory["maxmemory"] == 96 * 1024 * 1024
    assert memory["maxmemory_policy"] == "allkeys-lru"
    persistence = app.info("persistence")
    assert persistence["aof_enabled"] == 0


def test_unchanged_inputs_do_not_restart(host):
    before = main_pid(host, "redis-server")
    run = converge()
    assert not run.failed, run.output
    assert run.changed_tasks == []
    assert main_pid(host, "redis-server") == before


def test_broker_usage_restarts_with_aof_and_noeviction(host, address, app_password):
    before = main_pid(host, "redis-server")
    run = converge({"redis_usage": "broker"})
    assert not run.failed, run.output
    assert sorted(run.changed_tasks) == [
        "djangoprod.stack.redis : Harden the Redis unit and write the Redis configuration",
        "djangoprod.stack.redis : Restart Redis with its new configuration",
    ]
    assert main_pid(host, "redis-server") != before
    client = redis.Redis(host=address, username="app", password=app_password, socket_timeout=5)
    assert client.info("memory")["maxmemory_policy"] == "noeviction"
    assert client.info("persistence")["aof_enabled"] == 1
    assert not converge().failed  # back to the scenario's inputs


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"redis_allowed_clients": ["10.0.0.0/33"]}, "redis_allowed_clients"),
        ({"redis_usage": "broker", "redis_persistence": "none"}, "redis_persistence"),
        ({"redis_app_user": "default"}, "redis_app_user"),
        ({"redis_usage": "queue"}, "redis_usage"),
    ],
)
def test_bad_input_fails_naming_the_variable_and_changes_nothing(extra, named):
    assert_refused(extra, named)
