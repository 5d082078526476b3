"""The local spool: records that could not reach the ledger wait here, one JSON file each, until the next command
that reaches that ledger (or ``patrol ledger sync``) writes them, each in its own transaction, and removes them.

The folder is ``$PATROL_SPOOL``, else ``$XDG_STATE_HOME/patrol/ledger-spool`` (``~/.local/state/...``). Each file
names the ledger it was meant for (without a password) and is written whole (``patrol.atomic``), so a crash leaves
either no file or a complete one.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from patrol.atomic import write_text


def spool_dir() -> Path:
    """Where spooled records wait."""
    if os.environ.get("PATROL_SPOOL"):
        return Path(os.environ["PATROL_SPOOL"])
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "patrol" / "ledger-spool"


def put(ledger_key: str, kind: str, payload: dict[str, Any], why: str) -> Path:
    """Spool one record for the ledger ``ledger_key`` (:attr:`LedgerTarget.key`); returns its file."""
    name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{kind}-{uuid.uuid4().hex[:8]}.json"
    doc = {"version": 1, "ledger": ledger_key, "kind": kind, "why": why, "payload": payload}
    return write_text(spool_dir() / name, json.dumps(doc, ensure_ascii=False) + "\n")


def waiting(ledger_key: str) -> list[tuple[Path, dict[str, Any]]]:
    """The spooled records meant for the ledger ``ledger_key``, oldest first (unreadable files are left alone)."""
    folder = spool_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and doc.get("ledger") == ledger_key and "payload" in doc:
            out.append((path, doc))
    return out
