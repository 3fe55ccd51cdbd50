"""django_migrations against copies of the example project sharing one SQLite database."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from ansible_collections.djangoprod.stack.plugins.modules import django_migrations
from release_project import manage, run_module, runner


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
    first = run_module(django_migrations, capsys, runner=runner(project))
    assert "entries.0001_initial" in first["pending"]
    assert first["ahead"] == [] and first["commands"] == []
    manage(project, "migrate")
    second = run_module(django_migrations, capsys, runner=runner(project))
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

    older = run_module(django_migrations, capsys, runner=runner(project))
    assert older["ahead"] == [{"app": "entries", "migrations": ["0002_entry_mood"], "target": "0001_initial"}]
    assert older["commands"] == ["migrate entries 0001_initial"]

    manage(newer, *older["commands"][0].split())
    after = run_module(django_migrations, capsys, runner=runner(project))
    assert after["ahead"] == [] and after["pending"] == []


def test_a_runner_that_fails_fails_the_module(project, capsys):
    result = run_module(django_migrations, capsys, runner=runner(project, "no_such_settings"))
    assert result["failed"] and "ModuleNotFoundError" in result["msg"]
