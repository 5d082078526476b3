"""How a command records: open the ledger before any work, write the command's payload in one transaction after
it, and never lose it.

Office commands (plan, audit, ledger add, status, map, report) need the ledger: one that cannot be used stops them
before they touch anything (:class:`LedgerError`, one line). Field commands (upload, fly, broadcast) must never be
held on the ground by a database: an unusable ledger is a warning, and the record goes to the local spool
(:mod:`patrol.ledger.spool`), to land with the next command that reaches the ledger or ``patrol ledger sync``.
A ledger that fails after the work is done (a server gone meanwhile) spools the record too, and says so.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from patrol.errors import LedgerError
from patrol.i18n import N_, _
from patrol.ledger import record, spool
from patrol.ledger.config import LedgerTarget, ledger_url, operator_name
from patrol.ledger.payloads import run_info
from patrol.ledger.store import Ledger, describe, open_ledger

# The commands that record, as the ledger's messages name them.
KINDS = (N_("plan"), N_("upload"), N_("fly"), N_("broadcast"), N_("audit"), N_("import"))

STALL_ENV = "PATROL_LEDGER_TEST_STALL_S"
"""Fault-injection point for the tests only: sleep this long inside the write transaction, before its commit, so a
test can kill the process mid-write. Never set in use."""

Say = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Recorder:
    """One command's recording: the ledger (or None when it is off or, for a field command, unusable), who, when."""

    def __init__(self, target: LedgerTarget, ledger: Ledger | None, operator: str, kind: str, say: Say) -> None:
        self.target = target
        self.ledger = ledger
        self.operator = operator
        self.kind = kind
        self.started_s = time.time()
        self.say = say

    @property
    def on(self) -> bool:
        """Recording is on (the ledger may still be unusable: then records are spooled)."""
        return not self.target.off

    def save(self, payload: dict[str, Any]) -> str | None:
        """Record ``payload`` (the run row is added here) in one transaction; on failure spool it. Returns the
        line to show (None when recording is off)."""
        if self.target.off:
            return None
        payload = {**payload, "run": run_info(self.kind, self.operator, self.started_s)}
        if self.ledger is None:
            path = spool.put(self.target.key, self.kind, payload, "ledger unusable at the start")
            text = _("ledger: {ledger} unusable; {kind} record spooled to {path} (patrol ledger sync)")
            return text.format(ledger=self.target.shown, kind=_(self.kind), path=path)
        try:
            with self.ledger.write() as conn:
                what = record.write(conn, self.kind, payload)
                stall = float(os.environ.get(STALL_ENV) or 0)
                if stall > 0:
                    self.say(f"ledger: test stall {stall:g} s before commit ({STALL_ENV})")
                    time.sleep(stall)
        except (LedgerError, SQLAlchemyError, DBAPIError, sqlite3.Error, OSError) as e:
            why = str(e) if isinstance(e, LedgerError) else describe(self.target, e)
            path = spool.put(self.target.key, self.kind, payload, why)
            return _("ledger: could not record ({why}); record spooled to {path} (patrol ledger sync)").format(
                why=why, path=path
            )
        finally:
            self.ledger.close()
        return _("ledger: recorded {what} in {ledger}").format(what=what, ledger=self.target.shown)


def sync(ledger: Ledger, say: Say = _stderr) -> tuple[int, int]:
    """Write the spooled records meant for ``ledger``, oldest first, each in its own transaction, removing each
    once written. Returns ``(written, left)``; a record that fails stays for the next time."""
    done = left = 0
    for path, doc in spool.waiting(ledger.target.key):
        try:
            with ledger.write() as conn:
                what = record.write(conn, doc["kind"], doc["payload"], spooled=True)
        except (LedgerError, SQLAlchemyError, DBAPIError, sqlite3.Error, KeyError, TypeError) as e:
            why = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
            say(_("ledger: spooled {name} not written ({why})").format(name=path.name, why=why))
            left += 1
            continue
        path.unlink(missing_ok=True)
        done += 1
        say(_("ledger: spooled {what} written to {ledger}").format(what=what, ledger=ledger.target.shown))
    return done, left


def begin(
    ledger_opt: str | None, operator_opt: str | None, kind: str, field: bool = False, say: Say = _stderr
) -> Recorder:
    """Open the ledger for command ``kind`` before it does anything (see the module docstring for field commands),
    writing any spooled records for it first."""
    target = ledger_url(ledger_opt)
    operator = operator_name(operator_opt)
    if target.off:
        return Recorder(target, None, operator, kind, say)
    try:
        led = open_ledger(target)
    except LedgerError as e:
        if not field:
            raise
        say(
            _("patrol: warning: {error}; this {kind} goes ahead and its record is spooled").format(
                error=e, kind=_(kind)
            )
        )
        return Recorder(target, None, operator, kind, say)
    sync(led, say)
    return Recorder(target, led, operator, kind, say)
