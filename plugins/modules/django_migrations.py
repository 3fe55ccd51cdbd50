#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: how a release's migrations stand against the database."""

from __future__ import annotations

DOCUMENTATION = r"""
module: django_migrations
version_added: 0.1.0
short_description: How a release's migrations stand against the database
description:
  - Runs a few lines of Django in a release (through its runner) and compares the
    migrations its code holds with the ones the database has applied.
  - RV(pending) are the release's migrations the database lacks (what C(migrate) would apply).
  - RV(ahead) are migrations the database has applied that the release does not know,
    as when code older than the database is a rollback's target. For each such app it gives the
    release's newest migration, and RV(commands) the C(migrate <app> <migration>) commands
    that bring the database back to what the release knows; they must run in the newer
    release, which holds the migrations to unapply.
  - Reads only; changes nothing.
author: djangoprod.stack contributors (@djangoprod)
extends_documentation_fragment:
  - djangoprod.stack.release_runner
  - djangoprod.stack.attributes.read_only
"""

EXAMPLES = r"""
- name: Find out whether the database is ahead of the release to roll back to
  djangoprod.stack.django_migrations:
    runner: [/usr/local/libexec/djangoprod/shop-run, /srv/shop/releases/4f2a9c1e07b3-1a2b3c4d]
  register: migrations
"""

RETURN = r"""
pending:
  description: Migrations of the release not applied to the database, in the order C(migrate) applies them.
  returned: success
  type: list
  elements: str
  sample: [entries.0002_entry_mood]
ahead:
  description: Per app, applied migrations the release does not have, and the release's newest one.
  returned: success
  type: list
  elements: dict
  contains:
    app:
      description: The app label.
      type: str
    migrations:
      description: The applied migrations unknown to the release.
      type: list
      elements: str
    target:
      description: The release's newest migration of the app, or C(zero).
      type: str
commands:
  description: The C(migrate) commands (manage.py arguments) that bring the database back to the release.
  returned: success
  type: list
  elements: str
  sample: [migrate entries 0001_initial]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import MARKER, parse_marked_json

SNIPPET = (
    """
import json
import django
django.setup()
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
loader = executor.loader
known = set(loader.graph.nodes) | set(loader.disk_migrations)
for replaced_by in loader.replacements.values():
    known |= set(replaced_by.replaces)
plan = executor.migration_plan(loader.graph.leaf_nodes())
pending = ["%s.%s" % (m.app_label, m.name) for m, backwards in plan if not backwards]
ahead = {}
for app, name in sorted(loader.applied_migrations):
    if app in loader.migrated_apps and (app, name) not in known:
        ahead.setdefault(app, []).append(name)
result = {"pending": pending, "ahead": [
    {"app": app, "migrations": names,
     "target": ([n for a, n in loader.graph.leaf_nodes(app)] or ["zero"])[0]}
    for app, names in sorted(ahead.items())]}
print("""
    + repr(MARKER)
    + """ + json.dumps(result))
"""
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={"runner": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    rc, out, err = module.run_command([*module.params["runner"], "-c", SNIPPET])
    if rc != 0:
        module.fail_json(
            msg=f"Could not read the migrations (exit {rc}): {(err or out).strip()[-2000:]}", rc=rc
        )
    try:
        result = parse_marked_json(out)
    except ValueError as error:
        module.fail_json(msg=f"Could not read the migrations: {error}", stdout=out, stderr=err)
    commands = [f"migrate {entry['app']} {entry['target']}" for entry in result["ahead"]]
    module.exit_json(changed=False, pending=result["pending"], ahead=result["ahead"], commands=commands)


if __name__ == "__main__":
    main()
