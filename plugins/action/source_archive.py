# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the source_archive module's work done in the controller's own process.

The project is on the controller: packing it there in-process costs no module
payload and no Python started for it (a deploy's start-up is part of its price)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.djangoprod.stack.plugins.modules.source_archive import ARGUMENT_SPEC, archive


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            result.update(
                archive(args["src"], args["dest_dir"], args["exclude"], self._play_context.check_mode)
            )
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from error
        return result
