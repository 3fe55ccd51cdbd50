"""Make `ansible_collections.djangoprod.stack` importable from a clone for the tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# .collections/ansible_collections/djangoprod/stack links back to the clone.
sys.path.insert(0, str(ROOT / ".collections"))
