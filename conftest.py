"""Session-wide test settings: patrol's caches go to a fresh folder, never the user's own."""

from __future__ import annotations

import os
import tempfile

# Set at import, before any test (or CLI subprocess a test starts) reads it: every run of the suite starts
# with an empty prompt cache, so the tests synthesise for real, and the user's cache is never touched.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="patrol-test-cache-")
