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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.health import wait_for_answer


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
    answered, result = wait_for_answer(
        p["host"], p["path"], p["release"], p["unit"], p["address"], p["port"], p["timeout"]
    )
    if answered:
        module.exit_json(changed=False, **result)
    module.fail_json(**result)


if __name__ == "__main__":
    main()
