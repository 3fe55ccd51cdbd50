"""django_check against a copy of the example project, run for real with Django and SQLite."""

from __future__ import annotations

import textwrap

from ansible_collections.djangoprod.stack.plugins.modules import django_check
from release_project import SECURE, run_module, runner


def test_development_settings_fail_with_the_warnings_listed(project, capsys):
    result = run_module(django_check, capsys, runner=runner(project))
    assert result["failed"]
    assert {"security.W004", "security.W008", "security.W018"} <= set(result["ids"])
    assert "security.W018" in result["msg"]
    assert all(issue["level"] == "WARNING" for issue in result["issues"])


def test_secure_settings_pass(project, capsys):
    (project / "production.py").write_text(SECURE)
    result = run_module(
        django_check,
        capsys,
        runner=runner(project, "production"),
        settings_file=str(project / "production.py"),
    )
    assert not result.get("failed"), result
    assert result["issues"] == [] and result["changed"] is False


def test_fail_level_error_lets_warnings_pass(project, capsys):
    result = run_module(django_check, capsys, runner=runner(project), fail_level="ERROR", fatal_prefixes=[])
    assert not result.get("failed"), result
    assert "security.W004" in result["ids"]


def test_security_warnings_stop_a_release_and_other_apps_warnings_do_not(project, capsys):
    (project / "production.py").write_text(
        SECURE
        + textwrap.dedent(
            """
            from django.core import checks

            @checks.register(checks.Tags.compatibility, deploy=True)
            def advisory(app_configs, **kwargs):
                return [checks.Warning("no SMTP server configured", id="mailer.W001")]
            """
        )
    )
    passed = run_module(django_check, capsys, runner=runner(project, "production"))
    assert not passed.get("failed"), passed
    assert passed["ids"] == ["mailer.W001"]
    assert passed["issues"][0]["level"] == "WARNING"
    strict = run_module(django_check, capsys, runner=runner(project, "production"), fail_level="WARNING")
    assert strict["failed"] and "mailer.W001" in strict["msg"]


def test_the_entry_point_comes_from_the_settings(project, capsys):
    (project / "production.py").write_text(SECURE)
    wsgi = run_module(django_check, capsys, runner=runner(project, "production"))
    assert wsgi["server_module"] == "guestbook.wsgi:application"
    asgi = run_module(django_check, capsys, runner=runner(project, "production"), interface="asgi")
    assert asgi["server_module"] == "guestbook.asgi:application"
    (project / "production.py").write_text(SECURE + 'ASGI_APPLICATION = "guestbook.routing.app"\n')
    (project / "guestbook" / "routing.py").write_text("from guestbook.asgi import application as app\n")
    named = run_module(django_check, capsys, runner=runner(project, "production"), interface="asgi")
    assert named["server_module"] == "guestbook.routing:app"


def test_an_entry_point_that_cannot_load_fails_with_its_exception_last(project, capsys):
    (project / "production.py").write_text(SECURE)
    (project / "guestbook" / "wsgi.py").write_text(
        "import os\n" + "# padding\n" * 400 + "import no_such_dependency\n"
    )
    result = run_module(django_check, capsys, runner=runner(project, "production"))
    assert result["failed"]
    assert result["msg"].rstrip().endswith("ModuleNotFoundError: No module named 'no_such_dependency'")


def test_a_syntax_error_is_named_by_line_before_django_runs(project, capsys):
    (project / "production.py").write_text(SECURE + "DEBUG = (\n")
    result = run_module(
        django_check,
        capsys,
        runner=["false"],
        settings_file=str(project / "production.py"),
    )
    assert result["failed"]
    assert "do not compile" in result["msg"] and "production.py line" in result["msg"]


def test_settings_that_do_not_import_fail_with_the_error(project, capsys):
    (project / "production.py").write_text("from guestbook.missing import *\n")
    result = run_module(django_check, capsys, runner=runner(project, "production"))
    assert result["failed"]
    assert "ModuleNotFoundError" in result["msg"]
