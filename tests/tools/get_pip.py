"""Stands in for the pip bootstrap script ansible-test downloads (get-pip.py from
ci-files.testing.ansible.com, which this project's machines cannot reach): installs
the pip bundled with Python (ensurepip) into the running environment, then the
packages ansible-test asks for from the package index pip is configured with.

`make sanity` copies it to where ansible-test looks for its cached script."""

import subprocess
import sys

# get-pip.py options that pip install does not know
SCRIPT_ONLY = {"--no-setuptools", "--no-wheel"}

# In a subprocess: ensurepip switches pip's configuration (index, certificates) off in
# the environment of the process that runs it.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
arguments = [a for a in sys.argv[1:] if a not in SCRIPT_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
