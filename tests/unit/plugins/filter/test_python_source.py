from __future__ import annotations

import ast
import datetime
import math
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.djangoprod.stack.plugins.filter.python_source import (
    FilterModule,
    python_literal,
    python_settings,
)

NASTY_STRINGS = [
    "",
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "back\\slash",
    "trailing backslash\\",
    "new\nline",
    "carriage\r\nreturn",
    "tab\tand NUL\x00",
    "unicode: é ß 漢字 🐍",
    "line separator \u2028 and paragraph \u2029",
    "triple ''' and \"\"\"",
    "{{ not a template }}",
    "\\N{BULLET} stays literal",
]


@pytest.mark.parametrize("text", NASTY_STRINGS)
def test_strings_round_trip(text):
    source = python_literal(text)
    assert ast.literal_eval(source) == text


@pytest.mark.parametrize(
    "value",
    [
        0,
        -7,
        10**30,
        1.5,
        -0.25,
        1e300,
        True,
        False,
        None,
        [],
        {},
        (),
        ("one",),
        (1, 2),
        ["a", 1, None, [True, {"k": (1.5,)}]],
        {"default": {"ENGINE": "django.db.backends.postgresql", "PORT": 5432, "OPTIONS": {}}},
        {1: "int key", "s": "str key"},
    ],
)
def test_values_round_trip_with_their_types(value):
    result = ast.literal_eval(python_literal(value))
    assert result == value
    assert type(result) is type(value)


def test_booleans_stay_booleans_not_integers():
    assert python_literal(True) == "True"
    assert python_literal([False]) == "[\n    False,\n]"


def test_one_element_tuple_is_a_tuple():
    assert python_literal(("x",)) == "('x',)"


def test_nested_values_are_indented():
    assert python_literal({"a": [1, 2]}) == "{\n    'a': [\n        1,\n        2,\n    ],\n}"


def test_ansible_unsafe_strings_render_as_plain_strings():
    assert python_literal(wrap_var("it's {{ x }}")) == '"it\'s {{ x }}"'


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"A": {"B": datetime.date(2024, 1, 1)}}, "A.B: a date"),
        ({"A": [1, {2, 3}]}, "A[1]: a set"),
        ({"A": object()}, "A: a object"),
        ({"A": b"bytes"}, "A: a bytes"),
        ({"A": math.nan}, "A: nan"),
        ({"A": math.inf}, "A: inf"),
        ({"A": {(1, 2): "x"}}, "A: key (1, 2) is a tuple"),
        ({"A": {True: "x"}}, "A: key True is a bool"),
    ],
)
def test_other_types_are_refused_naming_the_key(value, named):
    with pytest.raises(AnsibleFilterError, match=re.escape(named)):
        python_literal(value)


def test_error_names_the_setting_when_given():
    with pytest.raises(AnsibleFilterError, match=r"^CACHES\.default\.TIMEOUT: "):
        python_literal({"default": {"TIMEOUT": {1, 2}}}, "CACHES")


def test_settings_are_sorted_assignments_that_execute():
    source = python_settings(
        {"DEBUG": False, "ALLOWED_HOSTS": ["a.example", "b.example"], "CONN_MAX_AGE": 60}
    )
    assert source.splitlines()[0] == "ALLOWED_HOSTS = ["
    namespace: dict = {}
    exec(compile(source, "settings.py", "exec"), namespace)
    assert namespace["DEBUG"] is False
    assert namespace["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert namespace["CONN_MAX_AGE"] == 60


def test_empty_settings_render_nothing():
    assert python_settings({}) == ""


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"debug": True}, "write it as DEBUG"),
        ({"NOT VALID": 1}, "not a valid Python name"),
        ({"1ABC": 1}, "not a valid Python name"),
        ({"None": 1}, "not a valid Python name"),
        ({"X": {1, 2}}, "^X: a set"),
    ],
)
def test_bad_setting_names_and_values_are_refused(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        python_settings(settings)


def test_settings_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="needs a mapping"):
        python_settings(["DEBUG"])


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"python_literal", "python_settings"}
