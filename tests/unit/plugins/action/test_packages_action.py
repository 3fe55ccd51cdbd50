"""packages' action: which packages dpkg-query reports installed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.djangoprod.stack.plugins.action.packages import PLAIN, QUERY, installed


def test_only_installed_packages_count():
    output = "ii  nginx\nrc  apache2\nun  memcached\niF  redis-server\nhi  postgresql\n"
    assert installed(output) == {"nginx", "postgresql"}


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="needs a Debian controller")
def test_the_query_reads_this_machines_dpkg():
    done = subprocess.run(
        ["sh", "-c", QUERY + "dpkg no-such-package-here"], capture_output=True, text=True, check=False
    )
    assert installed(done.stdout) == {"dpkg"}


def test_names_with_a_version_or_an_architecture_go_to_apt():
    assert PLAIN.match("python3-venv") and PLAIN.match("g++") and PLAIN.match("libc6.1")
    assert not any(PLAIN.match(name) for name in ("nginx=1.22*", "libc6:i386", "./local.deb", "ng*"))
