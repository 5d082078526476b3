"""Session-wide test settings: patrol's caches go to a fresh folder, never the user's own; and every run records
into its own throwaway ledger and spool, never into missions/ of the checkout or a ledger the developer's
environment names (tests that need a particular ledger pass --ledger)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set at import, before any test (or CLI subprocess a test starts) reads it: every run of the suite starts
# with an empty prompt cache, so the tests synthesise for real, and the user's cache is never touched.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="patrol-test-cache-")
_LEDGER = Path(tempfile.mkdtemp(prefix="patrol-test-ledger-"))
os.environ["PATROL_LEDGER"] = str(_LEDGER / "ledger.sqlite")
os.environ["PATROL_SPOOL"] = str(_LEDGER / "spool")
os.environ.pop("PATROL_OPERATOR", None)
# The suite's assertions read English whatever the machine's locale; tests/test_i18n.py sets its own language.
os.environ["PATROL_UI_LANG"] = "en"
