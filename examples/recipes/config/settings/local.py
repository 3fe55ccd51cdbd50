"""Development: DEBUG on, a local database unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "django-insecure-local-only")
os.environ.setdefault("DATABASE_URL", "sqlite:///db.sqlite3")
os.environ.setdefault("DJANGO_DEBUG", "True")

from .base import *  # noqa: E402,F403
