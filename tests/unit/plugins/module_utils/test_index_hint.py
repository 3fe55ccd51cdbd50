"""index_hint: an install that could not use the package index names what to set."""

from __future__ import annotations

import pytest
from ansible_collections.djangoprod.stack.plugins.module_utils.diagnostics import index_hint

# uv behind a TLS-inspecting proxy whose CA it does not know
UV_UNTRUSTED = """error: Failed to fetch: `https://pypi.org/simple/django/`
  Caused by: error sending request for url (https://pypi.org/simple/django/)
  Caused by: client error (Connect)
  Caused by: invalid peer certificate: UnknownIssuer
"""
PIP_UNTRUSTED = (
    "WARNING: Retrying ... SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
    "certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))"
)
PIP_OFFLINE = (
    "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError(': "
    "Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'"
)
UV_OFFLINE = (
    "error: Failed to fetch: `https://pypi.org/simple/django/`\n  Caused by: dns error: failed to lookup"
)


@pytest.mark.parametrize(
    ("output", "variable"),
    [
        (UV_UNTRUSTED, "app_pip_ca_bundle"),
        (PIP_UNTRUSTED, "app_pip_ca_bundle"),
        (PIP_OFFLINE, "app_pip_index_url"),
        (UV_OFFLINE, "app_pip_index_url"),
    ],
)
def test_the_variable_to_set_is_named(output, variable):
    assert f"set {variable} to" in index_hint(output)


def test_a_build_failure_is_not_an_index_problem():
    assert index_hint("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory") == ""
    assert index_hint("ERROR: No matching distribution found for djangoo==9") == ""
