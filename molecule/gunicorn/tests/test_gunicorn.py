"""gunicorn behind nginx: socket activation, hardened unit, and zero failed requests
while a reload switches releases and while the service restarts."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import Load, _SNIConnection, converge, exposure, main_pid, request, tls_context, wait_for

NAME = "hello.test"
UNIT = "gunicorn-hello"


def switch(host, release: str) -> None:
    link = "/srv/hello/current"
    out = host.run(f"ln -sfn /srv/hello/releases/{release} {link}.new && mv -T {link}.new {link}")
    assert out.rc == 0, out.stderr


def wait_for_body(address: str, body: str, seconds: float = 20) -> None:
    for _ in range(int(seconds * 10)):
        if request(address, NAME).body.decode().strip() == body:
            return
        time.sleep(0.1)
    raise AssertionError(f"never answered {body!r}")


def test_socket_and_service_run(host):
    assert host.service(f"{UNIT}.socket").is_enabled
    assert host.service(f"{UNIT}.socket").is_running
    assert host.service(f"{UNIT}.service").is_running
    sock = host.file(f"/run/{UNIT}.sock")
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == ("root", "www-data", 0o660)


def test_unit_is_hardened_and_notify_type(host):
    assert exposure(host, f"{UNIT}.service") <= 2.0
    assert host.run(f"systemctl show -p Type --value {UNIT}").stdout.strip() == "notify"


def test_workers_follow_the_cpus(host):
    cpus = int(
        host.ansible("setup", "filter=ansible_processor_vcpus")["ansible_facts"]["ansible_processor_vcpus"]
    )
    master = main_pid(host, UNIT)
    workers = host.run(f"pgrep -P {master}").stdout.split()
    assert len(workers) == cpus + 1  # gthread: CPUs + 1
    assert host.run(f"ps -o user= -p {master}").stdout.strip() == "hello"


def test_nginx_serves_the_current_release(address):
    resp = request(address, NAME)
    assert resp.status == 200
    assert resp.body.decode().strip() == "release a"


def test_reload_switches_release_without_a_failed_request(host, address):
    master = main_pid(host, UNIT)
    with Load(address, NAME) as load:
        switch(host, "b")
        assert host.run(f"systemctl reload {UNIT}").rc == 0
        wait_for_body(address, "release b")
    print(f"reload under load: {load.total} requests, {dict(load.bodies)}, {len(load.failures)} failed")
    assert load.failures == []
    assert load.bodies["release a"] > 0 and load.bodies["release b"] > 0
    assert main_pid(host, UNIT) == master  # a reload, not a restart


def test_restart_queues_requests_instead_of_failing_them(host, address):
    master = main_pid(host, UNIT)
    with Load(address, NAME) as load:
        assert host.run(f"systemctl restart {UNIT}.service").rc == 0
    print(f"restart under load: {load.total} requests, {len(load.failures)} failed")
    assert load.failures == []
    assert main_pid(host, UNIT) != master


def test_answers_under_way_are_finished_when_the_master_dies(host, address):
    # A crashed master (SIGKILL): its workers finish the answers they have started
    # (systemd sends them SIGTERM, on which they stop after their requests, not
    # SIGKILL) and the restarted server takes the requests that came meanwhile.
    master = main_pid(host, UNIT)
    answers: list[str] = []
    started = [threading.Event(), threading.Event()]

    def slow(headers: threading.Event) -> None:
        conn = _SNIConnection(address, NAME, tls_context(), 30)
        try:
            conn.request("GET", "/slow", headers={"Host": NAME})
            response = conn.getresponse()
            headers.set()  # the answer has started: its second half comes 2 s later
            answers.append(response.read().decode())
        except Exception as exc:  # a cut answer is the failure under test
            answers.append(f"error {exc!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=slow, args=(event,)) for event in started]
    with Load(address, NAME) as load:
        for thread in threads:
            thread.start()
        assert all(event.wait(20) for event in started), answers
        assert host.run(f"kill -9 {master}").rc == 0
        for thread in threads:
            thread.join()
        assert wait_for(lambda: main_pid(host, UNIT) not in ("0", master), 30, 0.5)
    print(f"master killed under load: {answers}, {load.total} requests, {len(load.failures)} failed")
    # every answer complete, and answered by the killed master's workers
    assert sorted(answers) == [f"{int(master):8d} done\n"] * 2
    assert load.failures == []


@pytest.mark.parametrize("release", ["a"])
def test_switch_back(host, address, release):
    switch(host, release)
    assert host.run(f"systemctl reload {UNIT}").rc == 0
    wait_for_body(address, f"release {release}")


def test_an_asgi_release_runs_on_the_uvicorn_worker(host, address):
    switch(host, "c")
    asgi = {
        "gunicorn_worker_class": "uvicorn",
        # Debian's uvicorn still bundles the worker; projects add uvicorn-worker.
        "gunicorn_uvicorn_worker_class": "uvicorn.workers.UvicornWorker",
        "gunicorn_app_module": "asgi:application",
    }
    try:
        run = converge(asgi)
        assert not run.failed, run.output
        wait_for_body(address, "release c (asgi)")
        cpus = int(
            host.ansible("setup", "filter=ansible_processor_vcpus")["ansible_facts"][
                "ansible_processor_vcpus"
            ]
        )
        assert len(host.run(f"pgrep -P {main_pid(host, UNIT)}").stdout.split()) == cpus
    finally:
        switch(host, "a")
        assert not converge().failed
    wait_for_body(address, "release a")
