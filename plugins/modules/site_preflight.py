#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: the site's inputs checked before any host changes (the work is in its action plugin)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: site_preflight
version_added: 0.3.0
short_description: Check the site's inputs on the controller before any host changes
description:
  - Reads the site-level variables that are set for the host (inventory, extra vars)
    and refuses the run, listing every problem at once, each naming the variable and
    what to set.
  - Runs on the controller only; it connects to no host and changes nothing.
  - Checked - C(djangoprod_project) (a name for the database, user and services);
    C(djangoprod_domains) (host names without scheme, path or port, no wildcard or
    address with C(nginx_tls_mode=acme), none twice); C(nginx_tls_mode);
    C(nginx_acme_email), C(app_server_email) and C(app_admins) (e-mail addresses);
    C(base_admin_user); the service ports (C(base_ssh_port), C(postgresql_port),
    C(redis_port), C(memcached_port)) in range and distinct; C(app_cache_backend);
    C(djangoprod_redis) and C(djangoprod_memcached) (booleans);
    C(djangoprod_deploy_serial) (a count or a percentage); C(djangoprod_source_path)
    and C(app_source_path) (an existing directory, not together with a git repository);
    C(djangoprod_git_version); C(app_root) (an absolute directory of its own).
  - A variable whose value refers to what only a role defines is left to that role's
    own checks.
author: djangoprod.stack contributors (@djangoprod)
options: {}
attributes:
  check_mode:
    support: full
    description: Checks the same way.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Check the site's inputs before anything changes
  djangoprod.stack.site_preflight:
"""

RETURN = r"""
problems:
  description: What is wrong, one line per problem, each starting with the variable's name.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg="djangoprod.stack.site_preflight runs on the controller, through its action plugin")


if __name__ == "__main__":
    main()
