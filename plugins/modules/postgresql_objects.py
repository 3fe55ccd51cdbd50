#!/usr/bin/python
# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module: PostgreSQL's roles and databases, and what waits for a restart, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postgresql_objects
short_description: Keep PostgreSQL's roles and databases, and find settings waiting for a restart, in one call
version_added: "1.0.0"
description:
  - Reads the roles, the databases and (with O(pending)) the settings PostgreSQL has not
    applied and the errors in its configuration files in one C(psql) session, then
    creates or changes only what differs, in one more.
  - Run as the C(postgres) user (C(become_user)), over the local socket.
  - A password is compared with the SCRAM-SHA-256 verifier PostgreSQL keeps, and a
    changed one is sent as a verifier made here; the password itself never reaches the
    server, its logs or the command line.
  - Never drops a role or a database; a database whose encoding or collation differs
    from the one asked for is refused (it would have to be made again).
author: djangoprod.stack contributors (@djangoprod)
options:
  port:
    description: The cluster's port.
    type: int
    default: 5432
  socket_dir:
    description: The directory of the cluster's socket.
    type: path
    default: /run/postgresql
  users:
    description: Login roles.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The role's name.
        type: str
        required: true
      password:
        description:
          - Its password (stored as a SCRAM-SHA-256 verifier); none or empty leaves the password
            as it is.
        type: str
      role_attr_flags:
        description:
          - Attributes, comma-separated, each with or without C(NO) (V(CREATEDB,NOSUPERUSER)).
            A new role gets C(LOGIN) unless they say V(NOLOGIN).
        type: str
        default: ""
  monitor_user:
    description:
      - A role for monitoring, created with C(LOGIN) and nothing more, and made a member of
        C(pg_monitor) only; empty for none.
    type: str
    default: ""
  databases:
    description: Databases, made from C(template0).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The database's name.
        type: str
        required: true
      owner:
        description: Its owner, a role of O(users) or one that exists.
        type: str
        required: true
      encoding:
        description: Its encoding.
        type: str
        default: UTF8
      lc_collate:
        description: Its collation.
        type: str
        default: C.UTF-8
      lc_ctype:
        description: Its character classification.
        type: str
        default: C.UTF-8
  pending:
    description:
      - Also return the settings waiting for a restart (C(pg_settings.pending_restart)) and
        the errors in C(postgresql.conf), its included files and C(pg_hba.conf).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads everything and reports what would be created or changed; changes nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Keep the roles and databases, and find settings that wait for a restart
  djangoprod.stack.postgresql_objects:
    users:
      - {name: shop, password: "{{ vault_shop_db_password }}"}
    databases:
      - {name: shop, owner: shop}
    monitor_user: prometheus
    pending: true
  become: true
  become_user: postgres
"""

RETURN = r"""
changes:
  description: What was (in check mode, would be) created or changed, such as V(role shop created).
  returned: always
  type: list
  elements: str
restart:
  description: Settings that take effect only when PostgreSQL restarts (with O(pending)).
  returned: always
  type: list
  elements: str
errors:
  description: Errors in the configuration files, each with its file and line (with O(pending)).
  returned: always
  type: list
  elements: str
"""

import base64
import hashlib
import hmac
import json
import os
import re
import stringprep
import unicodedata

from ansible.module_utils.basic import AnsibleModule

ATTRIBUTES = {
    "SUPERUSER": "rolsuper",
    "CREATEROLE": "rolcreaterole",
    "CREATEDB": "rolcreatedb",
    "INHERIT": "rolinherit",
    "LOGIN": "rolcanlogin",
    "REPLICATION": "rolreplication",
    "BYPASSRLS": "rolbypassrls",
}
SCRAM = re.compile(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$")
ITERATIONS = 4096  # PostgreSQL's scram_iterations default

# One row of JSON per object: the roles (pg_authid: the verifiers too, which only a
# superuser reads), the databases, the monitoring role's memberships, then what waits
# for a restart and the errors in the files.
READ = """
SELECT json_build_object('kind', 'role', 'name', rolname, 'password', rolpassword,
  'rolsuper', rolsuper, 'rolcreaterole', rolcreaterole, 'rolcreatedb', rolcreatedb,
  'rolinherit', rolinherit, 'rolcanlogin', rolcanlogin, 'rolreplication', rolreplication,
  'rolbypassrls', rolbypassrls,
  'member_of', ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                     WHERE m.member = a.oid))
  FROM pg_authid a;
SELECT json_build_object('kind', 'database', 'name', datname, 'owner', pg_get_userbyid(datdba),
  'encoding', pg_encoding_to_char(encoding), 'lc_collate', datcollate, 'lc_ctype', datctype)
  FROM pg_database;
"""
PENDING = """
SELECT json_build_object('kind', 'restart', 'what', name) FROM pg_settings WHERE pending_restart;
SELECT json_build_object('kind', 'error',
                         'what', sourcefile || ':' || sourceline || ' ' || name || ': ' || error)
  FROM pg_file_settings
  -- "could not be applied" is a setting waiting for a restart
  WHERE error IS NOT NULL AND error <> 'setting could not be applied';
SELECT json_build_object('kind', 'error', 'what', 'pg_hba.conf:' || line_number || ' ' || error)
  FROM pg_hba_file_rules WHERE error IS NOT NULL;
"""


def saslprep(password: str) -> str:
    """The password as PostgreSQL hashes it (SASLprep, RFC 4013); as given when that fails."""
    if password.isascii():
        return password
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    if any(check(c) for c in normalized for check in prohibited):
        return password
    return normalized


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (pg_authid.rolpassword)."""
    salt = salt if salt is not None else os.urandom(16)
    stored_key, server_key = _keys(password, salt, iterations)
    encode = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{encode(salt).decode()}"
        f"${encode(stored_key).decode()}:{encode(server_key).decode()}"
    )


def password_matches(password: str, verifier: str | None) -> bool:
    """Whether `verifier` (what pg_authid holds) was made from `password`."""
    found = SCRAM.match(verifier or "")
    if not found:
        return False  # none, or an md5 hash: set it again as SCRAM
    iterations, salt, stored, server = found.groups()
    stored_key, server_key = _keys(password, base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(stored_key, base64.b64decode(stored)) and hmac.compare_digest(
        server_key, base64.b64decode(server)
    )


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def flags(text: str) -> dict[str, bool]:
    """role_attr_flags as {pg_authid column: wanted value}."""
    wanted: dict[str, bool] = {}
    for word in filter(None, (w.strip().upper() for w in text.split(","))):
        negative = word.startswith("NO") and word[2:] in ATTRIBUTES
        column = ATTRIBUTES.get(word[2:] if negative else word)
        if column is None:
            raise ValueError(word)
        wanted[column] = not negative
    return wanted


def plan(params: dict, roles: dict[str, dict], databases: dict[str, dict]) -> tuple[list[str], list[str]]:
    """The statements to run and what each changes, from what the cluster holds."""
    statements: list[str] = []
    changes: list[str] = []
    users = list(params["users"])
    if params["monitor_user"]:
        users.append(
            {
                "name": params["monitor_user"],
                "password": None,
                "role_attr_flags": "LOGIN,NOSUPERUSER,NOCREATEDB,NOCREATEROLE",
            }
        )
    for user in users:
        name, password = user["name"], user.get("password") or ""
        wanted = flags(user.get("role_attr_flags") or "")
        role = roles.get(name)
        if role is None:
            words = [w for column, on in wanted.items() for w in [_word(column, on)]]
            if "rolcanlogin" not in wanted:
                words.insert(0, "LOGIN")
            password_clause = f" PASSWORD {literal(scram_verifier(password))}" if password else ""
            statements.append(f"CREATE ROLE {identifier(name)} {' '.join(words)}{password_clause}".rstrip())
            changes.append(f"role {name} created")
            continue
        differing = [_word(column, on) for column, on in wanted.items() if role[column] != on]
        if differing:
            statements.append(f"ALTER ROLE {identifier(name)} {' '.join(differing)}")
            changes.append(f"role {name}: {' '.join(differing)}")
        if password and not password_matches(password, role.get("password")):
            statements.append(f"ALTER ROLE {identifier(name)} PASSWORD {literal(scram_verifier(password))}")
            changes.append(f"role {name}: password")
    monitor = params["monitor_user"]
    if monitor and "pg_monitor" not in (roles.get(monitor) or {}).get("member_of", []):
        statements.append(f"GRANT pg_monitor TO {identifier(monitor)}")
        changes.append(f"role {monitor}: member of pg_monitor")
    for wanted_db in params["databases"]:
        name = wanted_db["name"]
        database = databases.get(name)
        if database is None:
            statements.append(
                f"CREATE DATABASE {identifier(name)} OWNER {identifier(wanted_db['owner'])}"
                f" ENCODING {literal(wanted_db['encoding'])} LC_COLLATE {literal(wanted_db['lc_collate'])}"
                f" LC_CTYPE {literal(wanted_db['lc_ctype'])} TEMPLATE template0"
            )
            changes.append(f"database {name} created")
            continue
        for key in ("encoding", "lc_collate", "lc_ctype"):
            if database[key].lower().replace("-", "") != wanted_db[key].lower().replace("-", ""):
                raise RuntimeError(
                    f"database {name} has {key} {database[key]}, not {wanted_db[key]}: PostgreSQL cannot "
                    f"change it; dump the data, drop the database and run again, or ask for {database[key]}"
                )
        if database["owner"] != wanted_db["owner"]:
            statements.append(f"ALTER DATABASE {identifier(name)} OWNER TO {identifier(wanted_db['owner'])}")
            changes.append(f"database {name}: owner {wanted_db['owner']}")
    return statements, changes


def _word(column: str, on: bool) -> str:
    attribute = next(word for word, col in ATTRIBUTES.items() if col == column)
    return attribute if on else f"NO{attribute}"


def psql(module: AnsibleModule, sql: str, result: dict) -> list[dict]:
    """Run `sql` in one session (stdin, so nothing of it is on a command line); the JSON rows."""
    params = module.params
    argv = [
        "psql",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        params["socket_dir"],
        "-p",
        str(params["port"]),
        "-d",
        "postgres",
    ]
    rc, out, err = module.run_command(argv, data=sql, binary_data=True)
    if rc != 0:
        module.fail_json(msg=f"psql failed (rc {rc}): {err.strip() or out.strip()}", **result)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "port": {"type": "int", "default": 5432},
            "socket_dir": {"type": "path", "default": "/run/postgresql"},
            "users": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "password": {"type": "str", "no_log": True},
                    "role_attr_flags": {"type": "str", "default": ""},
                },
            },
            "monitor_user": {"type": "str", "default": ""},
            "databases": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "owner": {"type": "str", "required": True},
                    "encoding": {"type": "str", "default": "UTF8"},
                    "lc_collate": {"type": "str", "default": "C.UTF-8"},
                    "lc_ctype": {"type": "str", "default": "C.UTF-8"},
                },
            },
            "pending": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    result: dict = {"changes": [], "restart": [], "errors": []}
    rows = psql(module, READ + (PENDING if module.params["pending"] else ""), result)
    roles = {row["name"]: row for row in rows if row["kind"] == "role"}
    databases = {row["name"]: row for row in rows if row["kind"] == "database"}
    result["restart"] = [row["what"] for row in rows if row["kind"] == "restart"]
    result["errors"] = [row["what"] for row in rows if row["kind"] == "error"]
    try:
        statements, result["changes"] = plan(module.params, roles, databases)
    except ValueError as exc:
        module.fail_json(
            msg=f"role_attr_flags: {exc} is not a role attribute ({', '.join(ATTRIBUTES)})", **result
        )
    except RuntimeError as exc:
        module.fail_json(msg=str(exc), **result)
    if statements and not module.check_mode:
        # CREATE DATABASE cannot run in a transaction block: one statement at a time.
        psql(module, "".join(f"{statement};\n" for statement in statements), result)
    module.exit_json(changed=bool(statements), **result)


if __name__ == "__main__":
    main()
