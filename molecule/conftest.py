"""Helpers shared by the testinfra suites of every scenario.

Requests are made for real from the controller to the test host's address on the
scenario's docker network, with the SNI and Host header a client would send.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass

import pytest
import testinfra


def scenario_hosts(names, prefix: str) -> dict:
    """testinfra hosts of the scenario's inventory by short name (`prefix` + name)."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return {
        name: testinfra.get_host(f"ansible://{prefix}{name}?ansible_inventory={inventory}") for name in names
    }


def host_address(name: str) -> str:
    """The address of test host `name` on its docker network."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    networks = json.loads(out)
    return next(iter(networks.values()))["IPAddress"]


def tls_context(
    minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """A client context that does not verify the (self-signed) certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None and minimum < ssl.TLSVersion.TLSv1_2:
        # Let the client offer legacy versions, so that a refusal comes from the server.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


class _SNIConnection(http.client.HTTPSConnection):
    def __init__(self, address: str, server_name: str, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(address, 443, context=context, timeout=timeout)
        self._server_name = server_name
        self.tls_version: str | None = None
        self.peer_certificate: bytes | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)
        # Kept now: http.client drops the socket when the server closes the connection
        # after its answer (nginx does while it reloads).
        self.tls_version = self.sock.version()
        self.peer_certificate = self.sock.getpeercert(binary_form=True)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    tls_version: str | None = None
    peer_certificate: bytes | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def request(
    address: str,
    host: str,
    path: str = "/",
    *,
    https: bool = True,
    context: ssl.SSLContext | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
) -> Response:
    """One real HTTP(S) request to `address`, with SNI and Host set to `host`."""
    conn: http.client.HTTPConnection
    if https:
        conn = _SNIConnection(address, host, context or tls_context(), timeout)
    else:
        conn = http.client.HTTPConnection(address, 80, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        if isinstance(conn, _SNIConnection):
            return Response(resp.status, resp.headers, body, conn.tls_version, conn.peer_certificate)
        return Response(resp.status, resp.headers, body)
    finally:
        conn.close()


class Browser:
    """A client that keeps its cookies across requests and posts forms with Django's
    CSRF token, as a browser does."""

    def __init__(self, address: str, host: str) -> None:
        self.address, self.host = address, host
        self.cookies: dict[str, str] = {}

    def _send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = request(
            self.address,
            self.host,
            path,
            method=method,
            body=body,
            headers={**({"Cookie": cookie} if cookie else {}), **(headers or {})},
        )
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def get(self, path: str) -> Response:
        return self._send("GET", path)

    def upload(self, page: str, action: str, field: str, filename: str, content: bytes) -> Response:
        """Posts a file to `action` as the multipart form on `page` does, with its CSRF token."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(page).body.decode())
        assert token, f"no CSRF token in the form at {page}"
        boundary = "djangoprod-test-boundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                f"{token.group(1)}\r\n"
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self._send(
            "POST",
            action,
            body,
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Referer": f"https://{self.host}{page}",
            },
        )

    def post(self, path: str, fields: dict[str, str]) -> Response:
        """Posts `fields` to `path` with the CSRF token of the form the page at `path` holds."""
        page = self.get(path).body.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no CSRF token in the form at {path}"
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        return self._send(
            "POST",
            path,
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"https://{self.host}{path}",
            },
        )


@pytest.fixture(scope="module")
def address(host) -> str:
    """The address of the host under test (its inventory name is its container name)."""
    return host_address(host.backend.get_hostname())


@dataclass
class Converge:
    """The outcome of one ansible-playbook run of the scenario's converge playbook."""

    rc: int
    output: str
    changed_tasks: list[str]

    @property
    def failed(self) -> bool:
        return self.rc != 0


def converge_command(
    extra_vars: dict | None = None,
    playbook: str = "converge.yml",
    check: bool = False,
    limit: str = "",
    env: dict | None = None,
):
    """The ansible-playbook command of the scenario's playbook, and its environment."""
    scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], f"{scenario}/{playbook}"]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if limit:
        cmd += ["--limit", limit]
    environment = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"}
    return cmd, {**environment, **(env or {})}


def outcome(rc: int, stdout: str, stderr: str) -> Converge:
    changed, task = [], None
    for line in stdout.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith("changed:") and task:
            changed.append(task)
    return Converge(rc, stdout + stderr, changed)


def converge(
    extra_vars: dict | None = None,
    playbook: str = "converge.yml",
    check: bool = False,
    limit: str = "",
    env: dict | None = None,
) -> Converge:
    """Run the scenario's converge playbook again, as a user changing their inputs would.

    Uses the inventory and configuration molecule made for the scenario; returns the
    names of the tasks and handlers that reported a change (that would, with `check`).
    """
    cmd, env = converge_command(extra_vars, playbook, check, limit, env)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return outcome(proc.returncode, proc.stdout, proc.stderr)


def start_converge(extra_vars: dict | None = None, playbook: str = "converge.yml") -> subprocess.Popen:
    """The converge playbook started in the background (its own process group), its
    output on a pipe: for runs at the same moment, or a run killed midway."""
    cmd, env = converge_command(extra_vars, playbook)
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )


def finish(proc: subprocess.Popen) -> Converge:
    stdout, stderr = proc.communicate()
    return outcome(proc.returncode, stdout, stderr)


def wait_for(predicate, seconds: float, step: float = 2):
    """Ask `predicate` every `step` seconds until it answers something true or `seconds`
    have passed; returns its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def exposure(host, unit: str) -> float:
    """The overall exposure level `systemd-analyze security` gives `unit` (0 best, 10 worst)."""
    out = host.run(f"systemd-analyze security {unit} | tail -n 1")
    assert out.rc == 0, out.stderr
    return float(out.stdout.split(f"level for {unit}:")[1].split()[0])


def main_pid(host, unit: str) -> str:
    return host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()


class Load:
    """A steady request loop through nginx, counting answers and failures.

    A request fails on an error status, a broken connection, or no answer within
    `timeout` seconds (by default gunicorn's own worker timeout: while new workers load
    the app on a busy test machine, requests wait in the socket's queue, late but
    answered).

    With `keepalive`, each thread sends its requests on one connection, as browsers and
    load tools do, and a connection closed under a request counts as a failure (the
    request is not sent again); a new connection is then opened."""

    def __init__(
        self,
        address: str,
        name: str,
        path: str = "/",
        threads: int = 4,
        timeout: float = 30,
        keepalive: bool = False,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.name = name
        self.path = path
        self.keepalive = keepalive
        self.bodies: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        conn = None
        while not self._stop.is_set():
            try:
                if self.keepalive:
                    if conn is None:
                        conn = _SNIConnection(self.address, self.name, tls_context(), self.timeout)
                    conn.request("GET", self.path, headers={"Host": self.name})
                    resp = conn.getresponse()
                    status, body = resp.status, resp.read()
                    if resp.will_close:
                        conn.close()
                        conn = None
                else:
                    answer = request(self.address, self.name, self.path, timeout=self.timeout)
                    status, body = answer.status, answer.body
                outcome = body.decode().strip() if status == 200 else f"HTTP {status}"
            except Exception as exc:  # every failed request counts, whatever the cause
                outcome = f"error {exc!r}"
                if conn is not None:
                    conn.close()
                    conn = None
            with self._lock:
                if outcome.startswith(("HTTP", "error")):
                    self.failures.append(outcome)
                else:
                    self.bodies[outcome] += 1
        if conn is not None:
            conn.close()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1)
        self._stop.set()
        for thread in self._threads:
            thread.join()

    @property
    def total(self) -> int:
        return sum(self.bodies.values()) + len(self.failures)


def assert_refused(extra_vars: dict, named: str) -> Converge:
    """A converge with bad inputs fails, names the input, and changes nothing."""
    run = converge(extra_vars)
    assert run.failed, run.output
    assert named in run.output
    assert run.changed_tasks == []
    return run
