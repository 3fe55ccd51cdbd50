# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation fragment: the options of the modules that check a release's Django."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  fail_level:
    description: The check level at which any issue stops the release.
    type: str
    choices: [CRITICAL, ERROR, WARNING, INFO, DEBUG]
    default: ERROR
  fatal_prefixes:
    description: Issues below O(fail_level) whose id starts with one of these stop the release all the same.
    type: list
    elements: str
    default: [security.]
  interface:
    description: What the server speaks to the application.
    type: str
    choices: [wsgi, asgi]
    default: wsgi
  server_module:
    description:
      - The application as the server takes it (C(package.module:callable)), instead of the
        one the settings name (C(WSGI_APPLICATION), or C(ASGI_APPLICATION) for O(interface=asgi)).
      - It is imported all the same.
    type: str
    default: ""
"""
