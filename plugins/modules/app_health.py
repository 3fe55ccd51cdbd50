#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: wait until a host's site answers with the wanted release, or fail fast."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_health
version_added: 0.2.0
short_description: Wait until the site answers through this host's nginx, from the wanted release
description:
  - Requests O(path) over HTTPS from this host's nginx, with the site's name as TLS SNI and
    C(Host), as a browser would, until it answers 200 or O(timeout) runs out.
  - With O(release), the answer must be the stack's health check (a JSON object) naming that
    release, so workers still running the previous release never pass the check.
  - Watches O(unit) meanwhile. When it restarts or fails (workers that cannot boot), the
    check stops at once and the message ends with the last lines the unit logged, where the
    exception is.
  - Reads only; runs in check mode too.
author: djangoprod.stack contributors (@djangoprod)
options:
  host:
    description: The site's name (SNI and C(Host)).
    type: str
    required: true
  path:
    description: The path to request.
    type: str
    default: /_djangoprod/health
  release:
    description: The release that must answer (empty accepts any 200).
    type: str
    default: ""
  unit:
    description: The systemd unit serving the site, watched for restarts and failures.
    type: str
    default: ""
  address:
    description: Where nginx listens.
    type: str
    default: 127.0.0.1
  port:
    description: nginx's HTTPS port.
    type: int
    default: 443
  timeout:
    description: Seconds to wait for the answer.
    type: int
    default: 30
extends_documentation_fragment:
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Check the new release answers
  djangoprod.stack.app_health:
    host: shop.example.com
    release: 4f2a9c1e07b3-1a2b3c4d
    unit: gunicorn-shop.service
"""

RETURN = r"""
status:
  description: The last HTTP status (0 when nothing answered).
  returned: always
  type: int
body:
  description: The start of the last answer's body.
  returned: always
  type: str
release:
  description: The release that answered (for the stack's health check).
  returned: success
  type: str
seconds:
  description: How long the check took.
  returned: always
  type: float
"""

import http.client
import json
import socket
import ssl
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "path": {"type": "str", "default": "/_djangoprod/health"},
            "release": {"type": "str", "default": ""},
            "unit": {"type": "str", "default": ""},
            "address": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 443},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    p = module.params
    start = time.time()
    restarts = unit_state(p["unit"])[0] if p["unit"] else 0
    status, body, answered = 0, "", None
    while True:
        status, body = fetch(p["address"], p["port"], p["host"], p["path"])
        answered = answer_release(body) if status == 200 else None
        if status == 200 and (not p["release"] or answered == p["release"]):
            module.exit_json(
                changed=False, status=status, body=body[:300], release=answered, seconds=time.time() - start
            )
        if p["unit"]:
            now_restarts, state = unit_state(p["unit"])
            if now_restarts > restarts or state == "failed":
                module.fail_json(
                    msg=(
                        f"{p['unit']} {'failed' if state == 'failed' else 'restarted'} instead of serving "
                        f"(its workers could not boot?). Its last lines:\n{journal_tail(p['unit'], start)}"
                    ),
                    status=status,
                    body=body[:300],
                    seconds=time.time() - start,
                )
        if time.time() - start >= p["timeout"]:
            break
        time.sleep(1)
    if status == 200 and p["release"]:
        what = f"answered 200 from release {answered or '(not the health check)'}, not {p['release']}"
    else:
        what = f"answered {status or 'nothing'}: {body[:300]}"
    module.fail_json(
        msg=f"GET https://{p['host']}{p['path']} through nginx on this host {what} (waited {p['timeout']} s)",
        status=status,
        body=body[:300],
        seconds=time.time() - start,
    )


if __name__ == "__main__":
    main()
