# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed install most likely lacks: a Debian package for a source build (the
build_hint filter, app_build), or a way to the package index (app_build)."""

from __future__ import annotations

import re

# What an installer prints when a source build lacks something, and the Debian package
# that brings it. The first match wins: headers before the generic compiler message.
_MISSING: list[tuple[str, str]] = [
    (r"pg_config (executable )?not found|libpq-fe\.h", "libpq-dev"),
    (r"mysql_config|mysqlclient.*pkg-config|mysql\.h", "default-libmysqlclient-dev pkg-config"),
    (r"gdal-config|gdal\.h", "libgdal-dev"),
    (r"jpeglib\.h|(?i:the headers or library files could not be found for jpeg)", "libjpeg-dev"),
    (r"zlib\.h|(?i:headers or library files could not be found for zlib)", "zlib1g-dev"),
    (r"ffi\.h", "libffi-dev"),
    (r"openssl/\w+\.h", "libssl-dev"),
    (r"libxml/\w+\.h|xml2-config", "libxml2-dev"),
    (r"libxslt/\w+\.h|xslt-config", "libxslt1-dev"),
    (r"sasl/sasl\.h", "libsasl2-dev"),
    (r"lber\.h|ldap\.h", "libldap2-dev"),
    (r"Python\.h|cannot find -lpython3", "python3-dev"),
    (r"(?i:can't find rust compiler|cargo.*not found|rustc.*not found)", "cargo"),
    (
        r"(?i:you need a C compiler|command '[\w/.-]*(gcc|cc|c\+\+|g\+\+)' failed|"
        r"(gcc|cc|x86_64-linux-gnu-gcc|aarch64-linux-gnu-gcc): (error|No such file)|"
        r"unable to execute '[\w/.-]*gcc'|No CMAKE_C_COMPILER could be found|"
        r"C compiler cannot create executables)",
        "build-essential python3-dev",
    ),
    (r"(?i:pkg-config: not found|pkg-config.*command not found)", "pkg-config"),
]


# The lines of a build's output that tell a failure: a header or a tool named elsewhere (a
# warning, a file included, a check that found nothing and went on) is not what stopped it.
_FAILURE_LINE = re.compile(
    r"(?i:error|not found|no such file|cannot find|can ?not find|can't find|could not (be )?found|"
    r"could not find|need a c compiler|failed|unable to|cannot create)"
)


def missing_package_hint(output: str) -> str:
    """A sentence naming app_build_packages and the Debian package a failed build most
    likely needs, or an empty string when the output shows no known missing piece."""
    failures = "\n".join(line for line in output.splitlines() if _FAILURE_LINE.search(line))
    for pattern, package in _MISSING:
        if re.search(pattern, failures):
            return (
                f"A dependency is built from source and the host lacks what it needs: add {package} "
                "to app_build_packages (Debian packages installed before the build)."
            )
    return ""


# What pip and uv print when the package index cannot be reached or is not trusted.
_UNTRUSTED = re.compile(
    r"(?i:invalid peer certificate|certificate verify failed|CERTIFICATE_VERIFY_FAILED|"
    r"unable to get local issuer certificate|self[- ]signed certificate in certificate chain)"
)
_UNREACHABLE = re.compile(
    r"(?i:failed to establish a new connection|temporary failure in name resolution|"
    r"name or service not known|network is unreachable|connection refused|dns error|"
    r"operation timed out|connection timed out|error sending request for url)"
)


def index_hint(output: str) -> str:
    """A sentence naming the variable to set when the installer could not use the package
    index (its certificate not trusted, or no way to it), or an empty string."""
    if _UNTRUSTED.search(output):
        return (
            "The installer does not trust the package index's certificate (a TLS-inspecting "
            "proxy, or a private index): set app_pip_ca_bundle to a CA bundle on the host that "
            "trusts it (Debian's own, with the proxy's CA added: /etc/ssl/certs/ca-certificates.crt)."
        )
    if _UNREACHABLE.search(output):
        return (
            "The host could not reach the package index: let it reach https://pypi.org (and "
            "files.pythonhosted.org), or set app_pip_index_url to a mirror it can reach."
        )
    return ""
