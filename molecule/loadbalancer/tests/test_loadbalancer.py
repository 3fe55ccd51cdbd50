"""nginx as a load balancer: requests spread over the backends, a drained backend gets
none (and stays drained across runs), a dead backend costs no failed request."""

from __future__ import annotations

from conftest import Load, converge, request

NAME = "lb.example.test"
FIRST = "127.0.0.1:8001"


def answers(address: str, count: int = 20) -> set[str]:
    return {request(address, NAME).body.decode().strip() for _ in range(count)}


def set_backend(state: str) -> None:
    run = converge({"backend": FIRST, "backend_state": state}, playbook="backend.yml")
    assert not run.failed, run.output


def test_an_unknown_backend_is_refused_before_anything_changes(host):
    run = converge({"backend": "192.0.2.1:443", "backend_state": "drained"}, playbook="backend.yml")
    assert run.failed, run.output
    assert "nginx_backend 192.0.2.1:443 is not a backend" in run.output
    assert run.changed_tasks == []
    assert not host.file("/etc/nginx/djangoprod-drained/192.0.2.1:443").exists


def test_requests_spread_over_both_backends(address):
    assert answers(address) == {"backend 1", "backend 2"}


def posts(host, backend: int) -> int:
    return len(host.file(f"/srv/backend{backend}/posts.log").content_string.splitlines())


def test_a_post_a_backend_received_is_never_sent_again(host, address):
    # Backend 1 answers every POST 503: sending it on to backend 2 would run it twice.
    assert host.run(": > /srv/backend1/posts.log && : > /srv/backend2/posts.log").rc == 0
    statuses = [request(address, NAME, f"/form/{n}", method="POST", body=b"x=1").status for n in range(20)]
    assert posts(host, 1) + posts(host, 2) == 20
    assert statuses.count(503) == posts(host, 1) >= 1


def test_a_drained_backend_gets_no_requests_and_none_fail(address):
    with Load(address, NAME) as load:
        set_backend("drained")
    print(f"drain under load: {load.total} requests, {len(load.failures)} failed")
    assert load.failures == []
    assert answers(address) == {"backend 2"}


def test_a_drained_backend_stays_drained_when_the_site_converges(address):
    run = converge()
    assert not run.failed, run.output
    assert run.changed_tasks == []
    assert answers(address) == {"backend 2"}


def test_a_backend_brought_back_gets_requests_again(address):
    set_backend("active")
    assert answers(address) == {"backend 1", "backend 2"}


def test_a_dead_backend_costs_no_failed_request(host, address):
    assert host.run("systemctl stop backend2").rc == 0
    try:
        with Load(address, NAME) as load:
            pass
        print(f"one backend down: {load.total} requests, {len(load.failures)} failed")
        assert load.failures == []
        assert set(load.bodies) == {"backend 1"}
    finally:
        host.run("systemctl start backend2")
