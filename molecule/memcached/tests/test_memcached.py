"""The memcached role alone: TCP on loopback only, UDP off, limits, hardened unit."""

from __future__ import annotations

import socket

import pytest
from conftest import assert_refused, converge, exposure, main_pid

# A set and a get over memcached's text protocol, run on the host itself.
ROUNDTRIP = (
    "python3 -c \"import socket; s=socket.create_connection(('127.0.0.1', 11211), 5); "
    "s.sendall(b'set djp 0 60 2\\r\\nok\\r\\nget djp\\r\\n'); import time; time.sleep(0.2); "
    'print(s.recv(4096).decode())"'
)
UDP_STATS = (
    'python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); '
    "s.sendto(b'\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00stats\\r\\n', ('127.0.0.1', 11211)); "
    'print(s.recvfrom(4096))"'
)


def stats(host) -> dict[str, str]:
    out = host.run(
        "python3 -c \"import socket; s=socket.create_connection(('127.0.0.1', 11211), 5); "
        "s.sendall(b'stats settings\\r\\n'); import time; time.sleep(0.2); print(s.recv(65536).decode())\""
    ).stdout
    return {parts[1]: parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}


def test_memcached_runs_as_its_user_hardened(host):
    assert host.service("memcached").is_running
    assert host.service("memcached").is_enabled
    assert host.process.get(comm="memcached").user == "memcache"
    assert exposure(host, "memcached.service") <= 2.0


def test_answers_on_loopback(host):
    out = host.run(ROUNDTRIP)
    assert out.rc == 0, out.stderr
    assert "STORED" in out.stdout
    assert "VALUE djp 0 2" in out.stdout


def test_udp_is_off(host):
    assert not [
        s for s in host.socket.get_listening_sockets() if s.startswith("udp") and s.endswith(":11211")
    ]
    assert host.run(UDP_STATS).rc != 0  # no answer: the probe times out


def test_does_not_answer_on_another_address(address):
    with pytest.raises(OSError):
        socket.create_connection((address, 11211), timeout=3)


def test_limits_follow_the_inputs(host):
    settings = stats(host)
    assert settings["maxbytes"] == str(80 * 1024 * 1024)
    assert settings["maxconns"] == "512"
    assert settings["udpport"] == "0"


def test_a_changed_limit_restarts_and_nothing_else_changes(host):
    before = main_pid(host, "memcached")
    run = converge({"memcached_memory_mb": 72})
    assert not run.failed, run.output
    assert sorted(run.changed_tasks) == [
        "djangoprod.stack.memcached : Restart memcached with its new configuration",
        "djangoprod.stack.memcached : Run memcached with its options, as its own user, sandboxed",
    ]
    assert main_pid(host, "memcached") != before
    assert stats(host)["maxbytes"] == str(72 * 1024 * 1024)
    assert not converge().failed


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"memcached_allowed_clients": ["not-a-network"]}, "memcached_allowed_clients"),
        ({"memcached_memory_mb": 4}, "memcached_memory_mb"),
        ({"memcached_port": "eleven"}, "memcached_port"),
    ],
)
def test_bad_input_fails_naming_the_variable_and_changes_nothing(extra, named):
    assert_refused(extra, named)
