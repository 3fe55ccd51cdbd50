# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the app_build module, with the code's archive copied from the controller first."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        local = args.get("archive")
        try:
            if local and not self._play_context.check_mode:
                if not os.path.isfile(local):
                    raise AnsibleActionFail(f"app_build: the archive {local} is not on the controller")
                remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "release.tar.gz")
                self._transfer_file(local, remote)
                self._fixup_perms2((self._connection._shell.tmpdir, remote))
                args["archive"] = remote
            result.update(
                self._execute_module("djangoprod.stack.app_build", module_args=args, task_vars=task_vars)
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
