# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation fragment: the option of the modules that run a release's Django."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  runner:
    description:
      - The command that runs the release's Python in its project directory, as the
        application's user, with its environment, settings module and credentials (the app
        role's C(/usr/local/libexec/djangoprod/<app>-run) and the release's directory).
      - The module appends C(-c <code>) and its arguments.
    type: list
    elements: str
    required: true
"""
