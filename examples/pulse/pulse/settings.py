"""An ASGI project configured the Heroku way: dj-database-url and plain os.environ."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

# Required: a KeyError at import when it is missing.
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "True"
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "beats",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "pulse.urls"
TEMPLATES: list = []
WSGI_APPLICATION = "pulse.wsgi.application"
ASGI_APPLICATION = "pulse.asgi.application"

DATABASES = {"default": dj_database_url.config(conn_max_age=600)}

USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shown by the front page; a deploy of a new version changes it.
PULSE_VERSION = "one"
