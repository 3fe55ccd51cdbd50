"""Imported by the module tests that run a release's Django for real: a copy of the example
project, run with Django and SQLite (the runner is the controller's Python in the copy)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "guestbook"


def run_module(module, capsys, **args) -> dict:
    """A module's main() with these arguments, and the JSON it printed."""
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def runner(project: Path, settings: str = "guestbook.settings") -> list[str]:
    return ["env", "-C", str(project), f"DJANGO_SETTINGS_MODULE={settings}", sys.executable]


def manage(project: Path, *args: str) -> None:
    subprocess.run([*runner(project), "manage.py", *args], check=True, capture_output=True)


SECURE = textwrap.dedent(
    """
    from guestbook.settings import *
    DEBUG = False
    SECRET_KEY = "x" * 64 + "a-long-random-enough-secret-key-for-the-deploy-checks"
    ALLOWED_HOSTS = ["example.test"]
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    """
)
