"""django_check, django_migrations and source_archive against the example project, run
for real with Django and SQLite (the runner is the controller's Python in a copy of it)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import (
    parse_check_output,
    parse_marked_json,
    tail,
)
from ansible_collections.djangoprod.stack.plugins.modules import (
    django_check,
    django_migrations,
    source_archive,
)

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "guestbook"


def run(module, capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "guestbook"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return copy


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


# ----- check output parsing


def test_parse_check_output_reads_ids_levels_objects_and_hints():
    text = textwrap.dedent(
        """\
        SystemCheckError: System check identified some issues:

        ERRORS:
        entries.Entry.author: (fields.E120) CharFields must define a 'max_length' attribute.

        WARNINGS:
        ?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting.
        \tHINT: Set it with care.
        ?: (security.W008) Your SECURE_SSL_REDIRECT setting is not set to True.

        System check identified 3 issues (0 silenced).
        """
    )
    issues = parse_check_output(text)
    assert [(i["id"], i["level"], i["object"]) for i in issues] == [
        ("fields.E120", "ERROR", "entries.Entry.author"),
        ("security.W004", "WARNING", "?"),
        ("security.W008", "WARNING", "?"),
    ]
    assert issues[1]["hint"] == "Set it with care."
    assert issues[2]["hint"] is None


def test_parse_check_output_of_a_clean_run_is_empty():
    assert parse_check_output("System check identified no issues (0 silenced).\n") == []


def test_parse_marked_json_takes_the_last_marked_line():
    assert parse_marked_json('noise\nDJANGOPROD-JSON: {"a": 1}\nmore\nDJANGOPROD-JSON: [2]\n') == [2]
    with pytest.raises(ValueError):
        parse_marked_json("no result here")


# ----- django_check


def test_development_settings_fail_with_the_warnings_listed(project, capsys):
    result = run(django_check, capsys, runner=runner(project))
    assert result["failed"]
    assert {"security.W004", "security.W008", "security.W018"} <= set(result["ids"])
    assert "security.W018" in result["msg"]
    assert all(issue["level"] == "WARNING" for issue in result["issues"])


def test_secure_settings_pass(project, capsys):
    (project / "production.py").write_text(SECURE)
    result = run(
        django_check,
        capsys,
        runner=runner(project, "production"),
        settings_file=str(project / "production.py"),
    )
    assert not result.get("failed"), result
    assert result["issues"] == [] and result["changed"] is False


def test_fail_level_error_lets_warnings_pass(project, capsys):
    result = run(django_check, capsys, runner=runner(project), fail_level="ERROR", fatal_prefixes=[])
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
    passed = run(django_check, capsys, runner=runner(project, "production"))
    assert not passed.get("failed"), passed
    assert passed["ids"] == ["mailer.W001"]
    assert passed["issues"][0]["level"] == "WARNING"
    strict = run(django_check, capsys, runner=runner(project, "production"), fail_level="WARNING")
    assert strict["failed"] and "mailer.W001" in strict["msg"]


def test_the_entry_point_comes_from_the_settings(project, capsys):
    (project / "production.py").write_text(SECURE)
    wsgi = run(django_check, capsys, runner=runner(project, "production"))
    assert wsgi["server_module"] == "guestbook.wsgi:application"
    asgi = run(django_check, capsys, runner=runner(project, "production"), interface="asgi")
    assert asgi["server_module"] == "guestbook.asgi:application"
    (project / "production.py").write_text(SECURE + 'ASGI_APPLICATION = "guestbook.routing.app"\n')
    (project / "guestbook" / "routing.py").write_text("from guestbook.asgi import application as app\n")
    named = run(django_check, capsys, runner=runner(project, "production"), interface="asgi")
    assert named["server_module"] == "guestbook.routing:app"


def test_an_entry_point_that_cannot_load_fails_with_its_exception_last(project, capsys):
    (project / "production.py").write_text(SECURE)
    (project / "guestbook" / "wsgi.py").write_text(
        "import os\n" + "# padding\n" * 400 + "import no_such_dependency\n"
    )
    result = run(django_check, capsys, runner=runner(project, "production"))
    assert result["failed"]
    assert result["msg"].rstrip().endswith("ModuleNotFoundError: No module named 'no_such_dependency'")


def test_tail_cuts_whole_lines_from_the_top():
    text = "\n".join(f"line {n}" for n in range(1000)) + "\nValueError: the cause"
    cut = tail(text, 100)
    assert cut.startswith("[...]\nline ") and cut.endswith("ValueError: the cause")
    assert len(cut) <= 110
    assert tail("short", 100) == "short"


def test_a_syntax_error_is_named_by_line_before_django_runs(project, capsys):
    (project / "production.py").write_text(SECURE + "DEBUG = (\n")
    result = run(
        django_check,
        capsys,
        runner=["false"],
        settings_file=str(project / "production.py"),
    )
    assert result["failed"]
    assert "do not compile" in result["msg"] and "production.py line" in result["msg"]


def test_settings_that_do_not_import_fail_with_the_error(project, capsys):
    (project / "production.py").write_text("from guestbook.missing import *\n")
    result = run(django_check, capsys, runner=runner(project, "production"))
    assert result["failed"]
    assert "ModuleNotFoundError" in result["msg"]


# ----- django_migrations


def add_migration(project: Path, name: str, field: str) -> None:
    (project / "entries" / "migrations" / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("entries", "0001_initial")]
                operations = [
                    migrations.AddField("entry", "{field}", models.CharField(max_length=20, default="")),
                ]
            """
        )
    )


def test_pending_then_nothing_after_migrate(project, capsys):
    first = run(django_migrations, capsys, runner=runner(project))
    assert "entries.0001_initial" in first["pending"]
    assert first["ahead"] == [] and first["commands"] == []
    manage(project, "migrate")
    second = run(django_migrations, capsys, runner=runner(project))
    assert second["pending"] == [] and second["ahead"] == []


def test_older_code_sees_the_database_ahead_and_how_to_go_back(project, tmp_path, capsys):
    newer = tmp_path / "newer"
    shutil.copytree(project, newer)
    add_migration(newer, "0002_entry_mood", "mood")
    database = tmp_path / "db.sqlite3"
    for copy in (project, newer):
        with (copy / "guestbook" / "settings.py").open("a") as handle:
            handle.write(f"\nDATABASES['default']['NAME'] = {str(database)!r}\n")
    manage(newer, "migrate")

    older = run(django_migrations, capsys, runner=runner(project))
    assert older["ahead"] == [{"app": "entries", "migrations": ["0002_entry_mood"], "target": "0001_initial"}]
    assert older["commands"] == ["migrate entries 0001_initial"]

    manage(newer, *older["commands"][0].split())
    after = run(django_migrations, capsys, runner=runner(project))
    assert after["ahead"] == [] and after["pending"] == []


def test_a_runner_that_fails_fails_the_module(project, capsys):
    result = run(django_migrations, capsys, runner=runner(project, "no_such_settings"))
    assert result["failed"] and "ModuleNotFoundError" in result["msg"]


# ----- source_archive


def test_archive_is_reproducible_and_named_by_content(project, tmp_path, capsys):
    out = tmp_path / "out"
    first = run(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert first["changed"] and first["files"] > 10
    data = Path(first["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == first["checksum"]
    assert Path(first["path"]).name == f"{first['checksum']}.tar.gz"

    os.utime(project / "manage.py", (1, 1))  # touched, not changed
    (project / "entries" / "__pycache__").mkdir(exist_ok=True)
    (project / "entries" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (project / ".env").write_text("SECRET=1")
    second = run(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert second["checksum"] == first["checksum"] and not second["changed"]

    (project / "entries" / "views.py").write_text("# changed\n", encoding="utf-8")
    third = run(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert third["checksum"] != first["checksum"] and third["changed"]

    with tarfile.open(first["path"]) as tar:
        names = tar.getnames()
        assert "manage.py" in names and "entries/migrations/0001_initial.py" in names
        assert not any("__pycache__" in n or n.endswith(".env") for n in names)
        assert tar.getmember("manage.py").mode == 0o755
        assert {m.uid for m in tar.getmembers()} == {0}


def test_archive_check_mode_writes_nothing(project, tmp_path, capsys):
    out = tmp_path / "out"
    result = run(source_archive, capsys, src=str(project), dest_dir=str(out), _ansible_check_mode=True)
    assert result["changed"] and not out.exists()


def test_archive_of_a_missing_directory_is_refused(tmp_path, capsys):
    result = run(source_archive, capsys, src=str(tmp_path / "nope"), dest_dir=str(tmp_path))
    assert result["failed"] and "not a directory" in result["msg"]
