"""The systemd_units role alone: a worker, a timer, OnFailure, one hardened template."""

from __future__ import annotations

import time

import pytest
from conftest import assert_refused, converge, exposure, main_pid


def wait_for(host, path: str, seconds: float = 10) -> str:
    for _ in range(int(seconds * 10)):
        f = host.file(path)
        if f.exists and f.content_string:
            return f.content_string
        time.sleep(0.1)
    raise AssertionError(f"{path} did not appear")


def test_worker_runs_as_the_app_user_with_environment_and_credential(host):
    assert host.service("hello-worker").is_running
    assert host.service("hello-worker").is_enabled
    state = "/var/lib/hello-worker"
    assert wait_for(host, f"{state}/token-seen").strip() == "s3cr3t"
    assert wait_for(host, f"{state}/settings-seen").strip() == "hello.settings"
    pid = main_pid(host, "hello-worker")
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "hello"


@pytest.mark.parametrize("unit", ["hello-worker.service", "hello-clear.service"])
def test_units_are_hardened(host, unit):
    assert exposure(host, unit) <= 2.0


def test_sandbox_holds(host):
    # The worker cannot write outside its own directories, nor see /home.
    pid = main_pid(host, "hello-worker")
    assert host.run(f"nsenter -t {pid} -m -S follow -G follow sh -c 'touch /usr/x'").rc != 0
    assert host.run("systemctl show -p CapabilityBoundingSet --value hello-worker").stdout.strip() == ""


def test_timer_is_scheduled_and_its_command_runs(host):
    timer = host.service("hello-clear.timer")
    assert timer.is_enabled and timer.is_running
    assert not host.service("hello-clear.service").is_enabled  # only the timer starts it
    assert host.run("systemctl start hello-clear.service").rc == 0
    assert wait_for(host, "/var/lib/hello-clear/runs").strip()


def test_a_failure_starts_the_on_failure_unit(host):
    host.run("systemctl start hello-broken.service")
    assert wait_for(host, "/var/lib/hello-alert/alerts").strip()


WRITE = "djangoprod.stack.systemd_units : Write the unit files"
RESTART = "djangoprod.stack.systemd_units : Run the sockets, services and timers"


def test_a_changed_timed_unit_leaves_the_worker_running(host):
    worker = main_pid(host, "hello-worker")
    run = converge({"hello_clear_file": "runs-again"})
    assert not run.failed, run.output
    assert run.changed_tasks == [WRITE]
    assert main_pid(host, "hello-worker") == worker


def test_a_changed_worker_restarts_it(host):
    worker = main_pid(host, "hello-worker")
    run = converge({"hello_clear_file": "runs-again", "hello_worker_mark": "2"})
    assert not run.failed, run.output
    assert run.changed_tasks == [WRITE, RESTART]
    assert main_pid(host, "hello-worker") != worker
    assert host.run("systemctl show -p Environment --value hello-worker").stdout.count("HELLO_MARK=2") == 1
    assert not converge().failed  # back to the scenario's inputs


@pytest.mark.parametrize(
    ("units", "named"),
    [
        ([{"name": "bad name", "command": ["/bin/true"]}], "systemd_units_list"),
        (
            [{"name": "a", "command": ["/bin/true"]}, {"name": "a", "command": ["/bin/true"]}],
            "systemd_units_list",
        ),
        (
            [
                {
                    "name": "a",
                    "command": ["/bin/true"],
                    "timer": {"on_calendar": "daily"},
                    "socket": {"listen": 9},
                }
            ],
            "systemd_units_list",
        ),
        ([{"name": "a"}], "command"),
    ],
)
def test_bad_input_fails_naming_the_variable(units, named):
    assert_refused({"systemd_units_list": units}, named)
