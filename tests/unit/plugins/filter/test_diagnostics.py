"""build_hint and tail_text: failure output that says what to do."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.djangoprod.stack.plugins.filter.diagnostics import build_hint, tail_text

PSYCOPG2 = """
      Error: pg_config executable not found.

      pg_config is required to build psycopg2 from source.  Please add the directory
      containing pg_config to the $PATH or specify the full executable path with the option:
"""
NO_COMPILER = "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory"
NO_HEADERS = "psycopg/psycopgmodule.c:28:10: fatal error: Python.h: No such file or directory"


@pytest.mark.parametrize(
    ("output", "package"),
    [
        (PSYCOPG2, "libpq-dev"),
        (NO_COMPILER, "build-essential python3-dev"),
        (NO_HEADERS, "python3-dev"),
        ("The headers or library files could not be found for jpeg,", "libjpeg-dev"),
        ("/bin/sh: 1: gdal-config: not found", "libgdal-dev"),
        ("      You need a C compiler to build uvloop.", "build-essential python3-dev"),
    ],
)
def test_build_hint_names_the_package_and_the_variable(output, package):
    hint = build_hint(output)
    assert f"add {package} to app_build_packages" in hint


def test_a_header_named_outside_the_failure_is_not_the_cause():
    """uWSGI's build names OpenSSL's headers on its way; its failure is the linker's."""
    output = (
        "In file included from core/ssl.c:1:\n/usr/include/openssl/ssl.h:20: note: declared here\n"
        "core/ssl.c:44:5: warning: 'SSL_library_init' is deprecated [-Wdeprecated-declarations]\n"
        "/usr/bin/ld: cannot find -lpython3.11: No such file or directory\n"
        "collect2: error: ld returned 1 exit status\n"
    )
    assert "add python3-dev to app_build_packages" in build_hint(output)
    assert build_hint(output.replace("/usr/bin/ld: cannot find -lpython3.11", "ld: cannot find -lfoo")) == ""


def test_build_hint_is_empty_for_other_failures():
    assert build_hint("ERROR: No matching distribution found for djangoo") == ""
    with pytest.raises(AnsibleFilterError):
        build_hint(None)


def test_tail_text_keeps_the_last_line_and_cuts_at_a_line():
    text = "Traceback (most recent call last):\n" + "  frame\n" * 500 + "ImproperlyConfigured: Set DJANGO_X"
    cut = tail_text(text, 120)
    assert cut.startswith("[...]\n  frame") and cut.endswith("ImproperlyConfigured: Set DJANGO_X")
    assert tail_text("short") == "short"
    with pytest.raises(AnsibleFilterError):
        tail_text("x", 0)
