# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: a warning in the run's output (and its recap), for a risk the user chose."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("msg",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        message = " ".join(str(self._task.args.get("msg", "")).split())
        if not message:
            result.update(failed=True, msg="warning: msg is required")
            return result
        self._display.warning(f"{task_vars.get('inventory_hostname', '')}: {message}")
        result.update(changed=False, msg=message)
        return result
