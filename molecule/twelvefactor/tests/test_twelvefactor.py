"""examples/recipes, a 12-factor project nobody shaped for the collection, deployed
unmodified by site.yml: it reads the stack's environment, its locked dependencies are
installed (one built from source), Django's own non-interactive commands work through
the manage command, its tracked fixture media load, a release whose entry point cannot
load never goes live (and a check run after it changes nothing), the project's own
production settings can stay untouched, and no secret leaks. The tests run in order."""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import Browser, converge, request

NAME = "recipes.test"
ROOT = "/srv/recipes"
MANAGE = "/usr/local/sbin/recipes-manage"
ADMIN = "/kitchen-7f3a9c/"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "recipes"
OUTPUTS: list[str] = []


def manage(host, command: str, env: str = "") -> str:
    out = host.run(f"{env} {MANAGE} {command}")
    assert out.rc == 0, out.stdout + out.stderr
    return out.stdout


def python(host, code: str) -> list[str]:
    return manage(host, f"shell -v 0 -c '{code}'").strip().splitlines()


def test_the_first_run_serves_the_site_over_https(address):
    front = request(address, NAME, "/")
    assert front.status == 301 and front.header("Location") == "/recipes/"
    page = request(address, NAME, "/recipes/")
    assert page.status == 200, page.body[:500]
    # the project's own top-level static/ directory, collected, hashed and served by nginx
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page.body.decode())
    assert css, page.body[:500]
    style = request(address, NAME, css.group(1))
    assert style.status == 200 and "immutable" in style.header("Cache-Control")
    missing = request(address, NAME, "/no-such-page/")
    assert missing.status == 404 and b"URLconf" not in missing.body  # DEBUG is off


def test_check_deploy_is_clean_with_the_projects_own_settings(host):
    assert "no issues" in manage(host, "check --deploy")
    assert python(host, "from django.conf import settings; print(settings.DEBUG)") == ["False"]


def test_the_project_reads_the_stack_environment(host):
    lines = python(
        host,
        "import os; from django.conf import settings; "
        'print(os.environ["DATABASE_URL"]); print(os.environ["REDIS_URL"].split("@")[0].split(":")[1]); '
        'print(os.environ["DJANGO_ALLOWED_HOSTS"]); print(settings.ADMIN_URL); '
        'print("django.contrib.postgres" in settings.INSTALLED_APPS); '
        'print(settings.DATABASES["default"]["ATOMIC_REQUESTS"])',
    )
    assert lines == ["postgres://recipes@/recipes", "//app", NAME, ADMIN.strip("/") + "/", "True", "True"]


def test_the_locked_dependencies_are_installed_and_the_sdist_was_built(host):
    lock = tomllib.loads((EXAMPLE / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    frozen = host.run(f"{ROOT}/current/venv/bin/python -m pip list --format freeze 2>/dev/null").stdout
    installed = dict(line.lower().split("==", 1) for line in frozen.splitlines() if "==" in line)
    for name in ("django", "django-environ", "django-redis", "psycopg2"):
        assert installed[name] == locked[name], (name, installed.get(name), locked[name])
    assert "ruff" not in installed  # the dev group stays out
    assert host.run(f"{ROOT}/current/venv/bin/python -c 'import psycopg2'").rc == 0


def test_the_release_runs_on_the_python_uv_installed(host):
    """app_python_version 3.12 on Debian 12 (3.11): uv installed it from the inventory's mirror."""
    # uv's link for the minor version (cpython-3.12-...), so a patch release can replace it
    version, prefix = python(host, "import sys; print(*sys.version_info[:2]); print(sys.base_prefix)")
    assert version == "3 12" and prefix.startswith("/opt/djangoprod/python/cpython-3.12"), prefix
    assert host.run("/usr/bin/python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)'").rc == 0
    interpreter = host.file("/opt/djangoprod/python/cpython-3.12.1-linux-x86_64-gnu/bin/python3.12")
    assert interpreter.user == "root" and not interpreter.mode & 0o022


def test_admin_login_after_createsuperuser_noinput(host, address):
    env = (
        "DJANGO_SUPERUSER_USERNAME=chef DJANGO_SUPERUSER_EMAIL=chef@recipes.test "
        "DJANGO_SUPERUSER_PASSWORD=Pancakes-At-Nine-42"
    )
    assert "Superuser created" in manage(host, "createsuperuser --noinput", env)
    browser = Browser(address, NAME)
    login = browser.post(
        f"{ADMIN}login/?next={ADMIN}", {"username": "chef", "password": "Pancakes-At-Nine-42", "next": ADMIN}
    )
    assert login.status == 302 and login.header("Location") == ADMIN, login.body[:800]
    dashboard = browser.get(ADMIN)
    assert dashboard.status == 200 and b"Site administration" in dashboard.body


def test_the_tracked_fixture_media_load_and_are_served(host, address):
    assert "loaded 2 recipe(s)" in manage(host, "load_fixtures")
    page = request(address, NAME, "/recipes/").body.decode()
    cards = re.findall(r'href="(/media/recipes/[^"]+\.txt)"', page)
    assert len(cards) == 2, page
    card = request(address, NAME, next(c for c in cards if "pancakes" in c))
    assert card.status == 200 and card.body.startswith(b"Pancakes:")


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("broken") / "recipes"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "config" / "wsgi.py").open("a") as handle:
        handle.write("\nimport sentry_sdk_that_is_not_installed  # noqa\n")
    return copy


def test_a_release_whose_entry_point_cannot_load_never_goes_live(host, address, broken):
    before = host.file(f"{ROOT}/current").linked_to
    result = converge({"djangoprod_source_path": str(broken)})
    OUTPUTS.append(result.output)
    assert result.rc != 0
    message = result.output[result.output.rindex("failed before going live") :]
    assert "ModuleNotFoundError: No module named 'sentry_sdk_that_is_not_installed'" in message
    assert "The site keeps running release" in message
    assert host.file(f"{ROOT}/current").linked_to == before
    assert request(address, NAME, "/recipes/").status == 200


# Takes `host` like its neighbours: pytest orders tests parametrized by testinfra's host
# apart from the others, and this one must run right after the failed deploy.
def test_a_check_run_after_the_failed_deploy_changes_nothing_and_passes(host):
    before = host.file(f"{ROOT}/current").linked_to
    result = converge(check=True)
    OUTPUTS.append(result.output)
    assert result.rc == 0, result.output[-3000:]
    assert result.changed_tasks == [], result.changed_tasks
    assert host.file(f"{ROOT}/current").linked_to == before


def test_the_projects_own_production_settings_can_stay_untouched(host, address):
    result = converge({"app_settings_overrides": False})
    OUTPUTS.append(result.output)
    assert result.rc == 0, result.output[-3000:]
    lines = python(
        host,
        "from django.conf import settings; print(settings.DEBUG); "
        'print(settings.CACHES["default"]["BACKEND"]); print(settings.SECURE_HSTS_SECONDS); '
        'print(settings.MIDDLEWARE[0]); print(settings.STATIC_ROOT.startswith("/srv/recipes/collected/"))',
    )
    # the project's own cache (django-redis from REDIS_URL) and HSTS, plus only our paths and health check
    assert lines == [
        "False",
        "django_redis.cache.RedisCache",
        "60",
        "djangoprod_health.HealthCheckMiddleware",
        "True",
    ]
    assert "no issues" in manage(host, "check --deploy")
    assert request(address, NAME, "/recipes/").status == 200


def test_secrets_never_in_units_output_or_world_readable_files(host):
    secret_key = host.run("cat /etc/djangoprod/recipes/secret_key").stdout.strip()
    cache_password = host.run("cat /etc/djangoprod/recipes/cache_password").stdout.strip()
    assert len(secret_key) == 64 and cache_password
    shown = host.run("systemctl show gunicorn-recipes.service").stdout
    units = host.run(
        "cat /etc/systemd/system/gunicorn-recipes.service /etc/systemd/system/gunicorn-recipes.socket"
    )
    for secret in (secret_key, cache_password, ADMIN.strip("/")):
        assert secret not in shown and secret not in units.stdout
        for output in OUTPUTS:
            assert secret not in output
        found = host.run(f"grep -rlsF -- {secret} /etc /srv /var/log /run /tmp").stdout.split()
        readable = [p for p in found if host.file(p).mode & 0o004]
        assert readable == [], readable
    # ...and yet the app's processes have it in their environment, read from the credential
    digest = python(
        host,
        'import hashlib, os; print(hashlib.sha256(os.environ["DJANGO_SECRET_KEY"].encode()).hexdigest())',
    )
    assert digest == [hashlib.sha256(secret_key.encode()).hexdigest()]


def test_backups_switched_off_leave_no_trace(host):
    # djangoprod_backup: false in the inventory
    assert not host.package("pgbackrest").is_installed
    assert not host.package("restic").is_installed
    assert not host.file("/etc/systemd/system/djangoprod-backup-drill.timer").exists
