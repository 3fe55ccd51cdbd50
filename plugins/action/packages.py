# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: Debian packages present; apt starts only when one is missing."""

from __future__ import annotations

import re
import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

# A plain package name: anything else (a version, an architecture, a path) goes to apt.
PLAIN = re.compile(r"^[a-z0-9][a-z0-9+.-]*$")
QUERY = "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' -- "


def installed(output: str) -> set[str]:
    """The installed packages in dpkg-query's `${db:Status-Abbrev} ${Package}` lines
    (the second letter of the status is `i` for installed; `c` config-files, `n` not)."""
    return {line.split()[1] for line in output.splitlines() if len(line) > 1 and line[1] == "i"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("name", "cache_valid_time", "install_recommends"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        names = self._task.args.get("name")
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",") if part.strip()]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise AnsibleActionFail("name must be a list of package names")
        try:
            valid_time = int(self._task.args.get("cache_valid_time", 3600))
        except (TypeError, ValueError) as error:
            raise AnsibleActionFail(f"cache_valid_time must be a number of seconds: {error}") from error
        recommends = {}
        if self._task.args.get("install_recommends") is not None:
            recommends["install_recommends"] = boolean(self._task.args["install_recommends"], strict=False)
        if not names:
            result.update(changed=False, missing=[])
            return result
        missing = names
        if all(PLAIN.match(name) for name in names):
            query = self._low_level_execute_command(
                QUERY + " ".join(shlex.quote(name) for name in names), sudoable=False
            )
            found = installed(query.get("stdout", ""))
            missing = [name for name in names if name not in found]
        if not missing:
            result.update(changed=False, missing=[])
            return result
        apt = self._execute_module(
            module_name="ansible.builtin.apt",
            module_args={
                "name": names,
                "state": "present",
                "update_cache": True,
                "cache_valid_time": valid_time,
                **recommends,
            },
            task_vars=task_vars,
        )
        apt["missing"] = missing
        return apt
