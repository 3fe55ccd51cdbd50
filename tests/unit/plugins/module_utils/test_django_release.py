"""django_release: reading what a release's Django printed, and the end of a failure's output."""

from __future__ import annotations

import textwrap

import pytest
from ansible_collections.djangoprod.stack.plugins.module_utils.django_release import (
    parse_check_output,
    parse_marked_json,
    tail,
)


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


def test_tail_cuts_whole_lines_from_the_top():
    text = "\n".join(f"line {n}" for n in range(1000)) + "\nValueError: the cause"
    cut = tail(text, 100)
    assert cut.startswith("[...]\nline ") and cut.endswith("ValueError: the cause")
    assert len(cut) <= 110
    assert tail("short", 100) == "short"
