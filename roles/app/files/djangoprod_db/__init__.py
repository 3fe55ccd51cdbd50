# Written by the djangoprod.stack app role next to the production settings.
"""The release's PostgreSQL engine: Django's (or PostGIS's), which waits out a database
restart instead of failing the requests that arrive meanwhile.

- A new connection that finds the server restarting (refused, starting up, shutting
  down) is tried again until WAIT_SECONDS have passed.
- A persistent connection the restart closed is replaced before a request uses it
  (CONN_HEALTH_CHECKS, set by the generated settings).
- A statement whose connection the restart cut is run again on a new connection only
  when that cannot apply anything twice: a plain SELECT, with no transaction open. A
  write that was in flight fails as before: whether it committed cannot be known.

One warning per outage goes to the `djangoprod.db` logger.

While a password rotation is under way, the settings name the passwords it replaces
(DJANGOPROD_PREVIOUS_PASSWORDS): a new connection whose password PostgreSQL refuses is
tried with those, and the one that worked is tried first from then on. The database
server learns the new password after the app does, and no connection is refused in
between.
"""

import logging
import re
import time

from django.db import InterfaceError, OperationalError
from django.db.backends import utils

logger = logging.getLogger("djangoprod.db")

WAIT_SECONDS = 10.0

# SQLSTATEs of a server going away or not there yet: admin_shutdown, crash_shutdown,
# cannot_connect_now.
_RESTART_STATES = {"57P01", "57P02", "57P03"}
_RESTART_MESSAGES = (
    "connection refused",
    "no such file or directory",
    "server closed the connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "terminating connection due to administrator command",
    "consuming input failed",
    "connection already closed",
    "the connection is closed",
    "the connection is lost",
)
# A read that changes nothing: SELECT without locking clauses or sequence calls.
_READ = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_NOT_A_READ = re.compile(
    r"\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b|\bnextval\s*\(|\bsetval\s*\(", re.I
)


def restarting(error):
    """Whether `error` (a driver error, or Django's wrapping one) says the server is
    restarting or the connection was cut, rather than the statement being wrong."""
    if isinstance(error, (OperationalError, InterfaceError)):
        error = error.__cause__ or error
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if state:
        return state in _RESTART_STATES
    message = str(error).lower()
    return any(text in message for text in _RESTART_MESSAGES)


def refused_password(error):
    """Whether `error` is PostgreSQL refusing the password (invalid_password)."""
    if isinstance(error, (OperationalError, InterfaceError)):
        error = error.__cause__ or error
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state == "28P01" or "password authentication failed" in str(error).lower()


def retryable(sql):
    """A statement that can run twice without changing the outcome."""
    return isinstance(sql, str) and bool(_READ.match(sql)) and not _NOT_A_READ.search(sql)


class _Outage:
    """One warning per outage, not one per request."""

    warned_until = 0.0

    @classmethod
    def warn(cls, error):
        now = time.monotonic()
        if now >= cls.warned_until:
            logger.warning(
                "database unreachable (%s); waiting up to %ss for it", str(error).strip(), WAIT_SECONDS
            )
        cls.warned_until = now + WAIT_SECONDS


class RetryingCursorWrapper(utils.CursorWrapper):
    def execute(self, sql, params=None):
        try:
            return super().execute(sql, params)
        except (OperationalError, InterfaceError) as error:
            if not self._may_run_again(sql, error):
                raise
            _Outage.warn(error)
            self._reconnect()
            return super().execute(sql, params)

    def _may_run_again(self, sql, error):
        return (
            restarting(error)
            and retryable(sql)
            and not self.db.in_atomic_block
            and self.db.autocommit
            and not getattr(self.cursor, "name", None)  # a server-side cursor lives in its connection
        )

    def _reconnect(self):
        try:
            self.db.close()
        except Exception:  # the connection is gone already
            self.db.connection = None
        self.db.ensure_connection()
        self.cursor = self.db.create_cursor()


class RestartTolerant:
    """Mixed into a PostgreSQL DatabaseWrapper."""

    # The password that last opened a connection in this process (during a rotation).
    _accepted_password = None

    def get_new_connection(self, conn_params):
        previous = [p for p in self.settings_dict.get("DJANGOPROD_PREVIOUS_PASSWORDS") or [] if p]
        if not previous or not conn_params.get("password"):
            return self._connect_waiting(conn_params)
        candidates = list(dict.fromkeys([conn_params["password"], *previous]))
        accepted = RestartTolerant._accepted_password
        if accepted in candidates:
            candidates.remove(accepted)
            candidates.insert(0, accepted)
        refusal = None
        for password in candidates:
            try:
                connection = self._connect_waiting({**conn_params, "password": password})
            except self.Database.OperationalError as error:
                if not refused_password(error):
                    raise
                refusal = error
                continue
            RestartTolerant._accepted_password = password
            return connection
        raise refusal

    def _connect_waiting(self, conn_params):
        deadline = time.monotonic() + WAIT_SECONDS
        delay = 0.05
        while True:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as error:
                remaining = deadline - time.monotonic()
                if not restarting(error) or remaining <= 0:
                    raise
                _Outage.warn(error)
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.5)

    def make_cursor(self, cursor):
        return RetryingCursorWrapper(cursor, self)
