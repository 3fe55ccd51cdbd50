"""The PostgreSQL engine the app role ships next to the settings: a server that is not
there yet is waited for, with a real refused connection; only statements that cannot
apply anything twice are run again."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import django
import pytest
from django.conf import settings

FILES = Path(__file__).resolve().parents[3] / "roles" / "app" / "files"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture(scope="module")
def engine():
    if not settings.configured:
        settings.configure()
        django.setup()
    sys.path.insert(0, str(FILES))
    try:
        import djangoprod_db
        from djangoprod_db import base
    finally:
        sys.path.remove(str(FILES))
    return djangoprod_db, base


def wrapper(base, port: int):
    return base.DatabaseWrapper(
        {
            "ENGINE": "djangoprod_db",
            "NAME": "app",
            "USER": "app",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": True,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        }
    )


def test_a_refused_connection_is_waited_for_then_reported(engine, monkeypatch):
    djangoprod_db, base = engine
    monkeypatch.setattr(djangoprod_db, "WAIT_SECONDS", 0.6)
    db = wrapper(base, closed_port())
    started = time.monotonic()
    with pytest.raises(django.db.OperationalError, match=r"(?i)refused"):
        db.ensure_connection()
    assert 0.55 <= time.monotonic() - started < 3


def test_a_wrong_statement_or_login_is_not_waited_for(engine):
    djangoprod_db, _base = engine

    class Refused(Exception):
        sqlstate = "28P01"  # invalid_password

    class Shutdown(Exception):
        sqlstate = "57P01"

    assert djangoprod_db.restarting(Shutdown("terminating connection due to administrator command"))
    assert djangoprod_db.restarting(
        Exception(
            'connection failed: connection to server at "10.0.0.2", port 5432 failed: Connection refused'
        )
    )
    assert not djangoprod_db.restarting(Refused("password authentication failed"))
    assert not djangoprod_db.restarting(Exception('relation "no_such_table" does not exist'))


@pytest.mark.parametrize(
    ("sql", "again"),
    [
        ('SELECT "entries_entry"."id" FROM "entries_entry" LIMIT 21', True),
        ("  select 1", True),
        ('SELECT "x"."id" FROM "x" WHERE "x"."id" = %s FOR UPDATE', False),
        ("SELECT * FROM x FOR NO KEY UPDATE", False),
        ("SELECT nextval('x_id_seq')", False),
        ('INSERT INTO "entries_entry" ("text") VALUES (%s) RETURNING "id"', False),
        ('UPDATE "x" SET "n" = "n" + 1', False),
        ("WITH d AS (DELETE FROM x RETURNING *) SELECT * FROM d", False),
    ],
)
def test_only_a_plain_select_is_run_again(engine, sql, again):
    djangoprod_db, _base = engine
    assert djangoprod_db.retryable(sql) is again


def test_during_a_rotation_a_refused_password_is_followed_by_the_previous_ones(engine, monkeypatch):
    djangoprod_db, base = engine

    class Refused(Exception):
        sqlstate = "28P01"

    server = {"password": "old-password"}  # what PostgreSQL has
    tried = []

    def connect(self, conn_params):
        tried.append(conn_params["password"])
        if conn_params["password"] != server["password"]:
            raise self.Database.OperationalError("FATAL: password authentication failed for user app")
        return object()

    monkeypatch.setattr(djangoprod_db.RestartTolerant, "_connect_waiting", connect)
    monkeypatch.setattr(djangoprod_db.RestartTolerant, "_accepted_password", None)
    db = wrapper(base, 5432)
    db.settings_dict["PASSWORD"] = "new-password"
    db.settings_dict["DJANGOPROD_PREVIOUS_PASSWORDS"] = ["old-password"]
    params = db.get_connection_params()
    assert db.get_new_connection(params) is not None
    assert tried == ["new-password", "old-password"]
    # the one that worked first from then on: no refused login per connection
    tried.clear()
    db.get_new_connection(params)
    assert tried == ["old-password"]
    # PostgreSQL has the new one now: one refusal, then the new one first again
    server["password"] = "new-password"
    tried.clear()
    db.get_new_connection(params)
    db.get_new_connection(params)
    assert tried == ["old-password", "new-password", "new-password"]
    # none accepted: PostgreSQL's refusal is what the app sees
    server["password"] = "another"
    with pytest.raises(db.Database.OperationalError, match="password authentication failed"):
        db.get_new_connection(params)
    assert djangoprod_db.refused_password(Refused("x"))
    # without previous passwords, one try
    db.settings_dict["DJANGOPROD_PREVIOUS_PASSWORDS"] = []
    tried.clear()
    with pytest.raises(db.Database.OperationalError):
        db.get_new_connection(params)
    assert tried == ["new-password"]
