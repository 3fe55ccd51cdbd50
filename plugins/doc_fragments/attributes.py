# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation fragments shared by the collection's modules: attributes and options."""

from __future__ import annotations


class ModuleDocFragment:
    # Modules that only read (a release, a project, a host's answer): the same in check mode.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Reports no diff.
"""
