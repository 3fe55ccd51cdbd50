"""The postgresql_objects module: SCRAM verifiers as PostgreSQL makes them, and only the
statements that what the cluster holds calls for.

The verifiers below were made by PostgreSQL 15 (CREATE ROLE ... PASSWORD, read back from
pg_authid); the scenarios (postgresql, stack, cluster) run the module on real clusters."""

from __future__ import annotations

import base64
import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import postgresql_objects as objects

PENCIL = (
    "SCRAM-SHA-256$4096:g8VdSar+Vxnajsew9bGq/A==$67cgpSByjbrmgGgRquc36Ph6otKllTi/YTaZHpLfkBk="
    ":/VUr7RB7GNlV3OMzG/DXXqYbyGzgus0YfzeSfNSQpu0="
)
# PASS in full-width letters: PostgreSQL hashes it after SASLprep, as PASS
FULLWIDTH_PASS = "\uff30\uff21\uff33\uff33"
FULLWIDTH = (
    "SCRAM-SHA-256$4096:CDEpOeyV3ugvaYGhm0Bv7g==$kr/4lkPMUOjpk2XP5WInQsJKW6Vyx3rR9UzISV1fNrc="
    ":xESONsoUV8Rh9qins0Hi/oGVE4ZBMl9FWYe9C0znpac="
)


def test_passwords_are_checked_against_postgresqls_own_verifiers():
    assert objects.password_matches("pencil", PENCIL)
    assert not objects.password_matches("pencil2", PENCIL)
    assert objects.password_matches(FULLWIDTH_PASS, FULLWIDTH) and objects.password_matches("PASS", FULLWIDTH)
    assert not objects.password_matches("pencil", "md5a3556571e93b0d20722ba62be61e8c2d")
    assert not objects.password_matches("pencil", None)


def test_a_verifier_made_here_is_one_postgresql_would_make():
    made = objects.scram_verifier("pencil", salt=base64.b64decode("g8VdSar+Vxnajsew9bGq/A=="))
    assert made == PENCIL
    fresh = objects.scram_verifier("pencil")
    assert fresh != PENCIL and objects.password_matches("pencil", fresh)


def role(name: str, password: str | None = None, **attributes) -> dict:
    row = {column: False for column in objects.ATTRIBUTES.values()}
    row.update(rolinherit=True, rolcanlogin=True, **attributes)
    return {"kind": "role", "name": name, "password": password, "member_of": [], **row}


def database(name: str, owner: str, **settings) -> dict:
    row = {"encoding": "UTF8", "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8", **settings}
    return {"kind": "database", "name": name, "owner": owner, **row}


class FakePsql:
    """psql: the rows the cluster holds for the read, and every script it is sent."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.scripts: list[str] = []

    def __call__(self, argv, data=None, **kwargs):
        assert argv[0] == "psql" and "ON_ERROR_STOP=1" in argv
        self.scripts.append(data)
        if data.lstrip().startswith("SELECT"):
            return 0, "".join(json.dumps(row) + "\n" for row in self.rows), ""
        return 0, "", ""


def run(capsys, monkeypatch, rows: list[dict], check_mode: bool = False, **args) -> tuple[dict, FakePsql]:
    psql = FakePsql(rows)
    monkeypatch.setattr(AnsibleModule, "run_command", psql)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit):
        objects.main()
    return json.loads(capsys.readouterr().out), psql


SITE = {
    "users": [{"name": "shop", "password": "pencil"}],
    "monitor_user": "prometheus",
    "databases": [{"name": "shop", "owner": "shop"}],
    "pending": True,
}


def test_a_fresh_cluster_gets_everything_in_one_script(capsys, monkeypatch):
    result, psql = run(
        capsys, monkeypatch, [role("postgres", rolsuper=True), database("postgres", "postgres")], **SITE
    )
    assert result["changes"] == [
        "role shop created",
        "role prometheus created",
        "role prometheus: member of pg_monitor",
        "database shop created",
    ]
    assert len(psql.scripts) == 2 and "pg_settings WHERE pending_restart" in psql.scripts[0]
    script = psql.scripts[1].splitlines()
    assert script[0].startswith('CREATE ROLE "shop" LOGIN PASSWORD \'SCRAM-SHA-256$4096:')
    assert "pencil" not in psql.scripts[1]  # the verifier only
    assert script[1:] == [
        'CREATE ROLE "prometheus" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;',
        'GRANT pg_monitor TO "prometheus";',
        "CREATE DATABASE \"shop\" OWNER \"shop\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        " TEMPLATE template0;",
    ]


def test_a_converged_cluster_gets_no_statement_and_reports_what_waits(capsys, monkeypatch):
    monitor = {**role("prometheus"), "member_of": ["pg_monitor"]}
    rows = [
        role("shop", PENCIL),
        monitor,
        database("shop", "shop"),
        {"kind": "restart", "what": "shared_buffers"},
        {"kind": "error", "what": "pg_hba.conf:3 invalid connection type"},
    ]
    result, psql = run(capsys, monkeypatch, rows, **SITE)
    assert not result["changed"] and len(psql.scripts) == 1
    assert result["restart"] == ["shared_buffers"]
    assert result["errors"] == ["pg_hba.conf:3 invalid connection type"]


def test_what_differs_is_altered_and_a_check_run_sends_nothing(capsys, monkeypatch):
    rows = [role("shop", "md5abc"), role("other"), role("prometheus"), database("shop", "other")]
    args = {
        **SITE,
        "users": [{"name": "shop", "password": "pencil", "role_attr_flags": "CREATEDB,NOINHERIT"}],
    }
    result, psql = run(capsys, monkeypatch, rows, check_mode=True, **args)
    assert result["changed"] and result["changes"] == [
        "role shop: CREATEDB NOINHERIT",
        "role shop: password",
        "role prometheus: member of pg_monitor",
        "database shop: owner shop",
    ]
    assert len(psql.scripts) == 1
    second, psql = run(capsys, monkeypatch, rows, **args)
    assert second["changed"]
    assert psql.scripts[1].splitlines()[0] == 'ALTER ROLE "shop" CREATEDB NOINHERIT;'
    assert psql.scripts[1].splitlines()[-1] == 'ALTER DATABASE "shop" OWNER TO "shop";'


def test_inputs_that_cannot_be_applied_are_refused_by_name(capsys, monkeypatch):
    result, psql = run(capsys, monkeypatch, [], users=[{"name": "shop", "role_attr_flags": "CREATEDB,ADMIN"}])
    assert result["failed"] and result["msg"].startswith("role_attr_flags: ADMIN is not a role attribute")
    result, psql = run(
        capsys, monkeypatch, [database("shop", "shop", lc_collate="en_US.UTF-8")], databases=SITE["databases"]
    )
    assert result["failed"] and len(psql.scripts) == 1
    assert result["msg"].startswith(
        "database shop has lc_collate en_US.UTF-8, not C.UTF-8: PostgreSQL cannot change it"
    )


def test_names_and_values_are_quoted():
    statements, changes = objects.plan(
        {"users": [{"name": 'we"ird', "password": None}], "monitor_user": "", "databases": []}, {}, {}
    )
    assert statements == ['CREATE ROLE "we""ird" LOGIN'] and changes == ['role we"ird created']
    assert objects.literal("it's") == "'it''s'"
