"""django_project: the settings module the project's own entry points name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import django_project

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def run(capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        django_project.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("example", "settings", "where"),
    [
        ("guestbook", "guestbook.settings", "guestbook/wsgi.py"),
        # manage.py names the development settings; the WSGI module the production ones
        ("recipes", "config.settings.production", "config/wsgi.py"),
        ("pulse", "pulse.settings", "pulse/wsgi.py"),
    ],
)
def test_the_examples_settings_are_found(capsys, example, settings, where):
    result = run(capsys, path=str(EXAMPLES / example))
    assert (result["settings_module"], result["found_in"]) == (settings, where)


def test_manage_py_alone_and_a_src_layout(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "manage.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings.prod')\n"
    )
    assert run(capsys, path=str(tmp_path))["settings_module"] == "shop.settings.prod"


def test_nothing_found_names_the_variable(tmp_path, capsys):
    (tmp_path / "manage.py").write_text("print('no settings here')\n")
    result = run(capsys, path=str(tmp_path))
    assert result["failed"] and "set app_django_settings" in result["msg"]
