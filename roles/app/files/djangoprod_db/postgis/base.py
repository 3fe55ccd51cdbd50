# Written by the djangoprod.stack app role next to the production settings.
"""The PostGIS engine, waiting out database restarts (see djangoprod_db)."""

from django.contrib.gis.db.backends.postgis import base

from djangoprod_db import RestartTolerant


class DatabaseWrapper(RestartTolerant, base.DatabaseWrapper):
    pass
