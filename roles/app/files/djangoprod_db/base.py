# Written by the djangoprod.stack app role next to the production settings.
"""Django's PostgreSQL engine, waiting out database restarts (see djangoprod_db)."""

from django.db.backends.postgresql import base

from djangoprod_db import RestartTolerant


class DatabaseWrapper(RestartTolerant, base.DatabaseWrapper):
    pass
