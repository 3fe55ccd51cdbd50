# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site answering through this host's nginx, and the unit serving it (app_health,
app_serve)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address with another name as SNI (nginx picks the site by it)."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, context=context, timeout=timeout)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


def fetch(address: str, port: int, host: str, path: str) -> tuple[int, str]:
    connection = _Connection(address, port, host, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "djangoprod-health"})
        response = connection.getresponse()
        return response.status, response.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return 0, f"{type(error).__name__}: {error}"
    finally:
        connection.close()


def unit_state(unit: str) -> tuple[int, str]:
    """(restarts, active state) of a unit."""
    out = subprocess.run(
        ["systemctl", "show", "--property", "NRestarts,ActiveState", unit],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    restarts = values.get("NRestarts", "0")
    return int(restarts) if restarts.isdigit() else 0, values.get("ActiveState", "")


def journal_tail(unit: str, since: float, lines: int = 25) -> str:
    out = subprocess.run(
        ["journalctl", "--unit", unit, "--since", f"@{int(since) - 1}", "--output", "cat", "--no-pager"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return "\n".join(out.strip().splitlines()[-lines:])


def answer_release(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("release") if isinstance(data, dict) else None


def wait_for_answer(
    host: str,
    path: str,
    release: str = "",
    unit: str = "",
    address: str = "127.0.0.1",
    port: int = 443,
    timeout: int = 30,
) -> tuple[bool, dict]:
    """Request `path` until it answers 200 (naming `release`, when given), the unit
    restarts or fails, or `timeout` runs out. Returns (answered, result): the result has
    status, body, seconds, the release that answered, and msg when it did not answer."""
    start = time.time()
    restarts = unit_state(unit)[0] if unit else 0
    status, body, answered = 0, "", None

    def result(**more: object) -> dict:
        return {"status": status, "body": body[:300], "seconds": time.time() - start, **more}

    while True:
        status, body = fetch(address, port, host, path)
        answered = answer_release(body) if status == 200 else None
        if status == 200 and (not release or answered == release):
            return True, result(release=answered)
        if unit:
            now_restarts, state = unit_state(unit)
            if now_restarts > restarts or state == "failed":
                msg = (
                    f"{unit} {'failed' if state == 'failed' else 'restarted'} instead of serving "
                    f"(its workers could not boot?). Its last lines:\n{journal_tail(unit, start)}"
                )
                return False, result(msg=msg)
        if time.time() - start >= timeout:
            break
        # New workers answer about a second after a reload: asked every tenth of a second
        # at first, their first answer is seen at once, not up to a second later.
        time.sleep(0.1 if time.time() - start < 5 else 0.5)
    if status == 200 and release:
        what = f"answered 200 from release {answered or '(not the health check)'}, not {release}"
    else:
        what = f"answered {status or 'nothing'}: {body[:300]}"
    msg = f"GET https://{host}{path} through nginx on this host {what} (waited {timeout} s)"
    return False, result(msg=msg)
