"""django_project: the settings module the project's own entry points name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings
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


@pytest.mark.parametrize(
    ("files", "found", "production"),
    [
        # A settings package whose entry points name its base module
        (
            {
                "config/wsgi.py": "config.django.base",
                "config/django/base.py": "",
                "config/django/production.py": "",
            },
            "config.django.base",
            ["config.django.production"],
        ),
        # The package itself (settings/__init__.py) with a prod module in it, manage.py in src/
        (
            {
                "src/manage.py": "shop.settings",
                "src/shop/settings/__init__.py": "",
                "src/shop/settings/prod.py": "",
            },
            "shop.settings",
            ["shop.settings.prod"],
        ),
        # The production module itself, and a classic settings.py alone: nothing to say
        (
            {
                "config/wsgi.py": "config.settings.production",
                "config/settings/production.py": "",
                "config/settings/local.py": "",
            },
            "config.settings.production",
            [],
        ),
        ({"shop/wsgi.py": "shop.settings", "shop/settings.py": ""}, "shop.settings", []),
    ],
)
def test_production_settings_beside_the_ones_found_are_named(
    tmp_path, capsys, monkeypatch, files, found, production
):
    for name, settings in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', '{settings}')\n" if settings else ""
        )
    # Warnings gather in the process across module runs (this run's alone), and go to the
    # controller's display once a test has imported controller code (the module's result here).
    monkeypatch.setattr(warnings, "_global_warnings", {})
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    result = run(capsys, path=str(tmp_path))
    assert (result["settings_module"], result["production_settings"]) == (found, production)
    warned = json.dumps(result.get("warnings", []))
    if production:
        assert f"set app_django_settings: {production[0]}" in warned and found in warned
    else:
        assert "app_django_settings" not in warned


def test_the_examples_name_no_other_production_settings(capsys):
    for example in ("guestbook", "recipes", "pulse"):
        assert run(capsys, path=str(EXAMPLES / example))["production_settings"] == []
