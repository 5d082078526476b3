"""Opening the ledger: one engine per target, the schema brought to :data:`~patrol.ledger.schema.HEAD` by the
shipped Alembic migrations, and transactions that are whole or nothing.

Promises of :func:`open_ledger`: a ledger that cannot be used raises :class:`LedgerError` with one line and
touches nothing (a server that is down, a damaged or foreign SQLite file, a schema newer than this patrol's);
an empty or older ledger is migrated first, under a lock, so two processes opening a new ledger at once both
succeed. SQLite runs in WAL mode with a 30 s busy timeout and ``BEGIN IMMEDIATE`` for writes (writers queue
instead of failing); PostgreSQL writes take one transaction-scoped advisory lock, so writers queue there too.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from patrol import i18n
from patrol.errors import LedgerError
from patrol.ledger.config import LedgerTarget
from patrol.ledger.schema import HEAD

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5
_WRITE_LOCK = 7_171_017  # PostgreSQL advisory lock key: one writer at a time


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def describe(target: LedgerTarget, exc: BaseException) -> str:
    """The one line for a database error while using ``target``."""
    why = _first_line(exc)
    if target.is_sqlite:
        low = why.lower()
        if "not a database" in low or "malformed" in low or "corrupt" in low or "disk i/o" in low:
            return i18n._(
                "ledger {ledger}: damaged or not an SQLite file ({why}); move it aside and restore a backup "
                "(nothing was written)"
            ).format(ledger=target.shown, why=why)
        return i18n._("ledger {ledger}: {why} (nothing was written)").format(ledger=target.shown, why=why)
    return i18n._(
        "ledger {ledger} is unreachable or refused ({why}); start the database or give another --ledger"
    ).format(ledger=target.shown, why=why)


def _sqlite_engine(target: LedgerTarget) -> Engine:
    engine = create_engine(target.url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # patrol issues BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("patrol_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _engine(target: LedgerTarget) -> Engine:
    if target.is_sqlite:
        return _sqlite_engine(target)
    return create_engine(target.url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}, pool_pre_ping=False)


class Ledger:
    """An open ledger. :meth:`write` and :meth:`read` give a connection inside one transaction."""

    def __init__(self, engine: Engine, target: LedgerTarget) -> None:
        self.engine = engine
        self.target = target
        self.dialect = engine.dialect.name

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed whole when the block ends, rolled back whole if it raises. A database
        error becomes :class:`LedgerError` (one line)."""
        try:
            with self.engine.connect().execution_options(patrol_write=True) as conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK})
                yield conn
        except (SQLAlchemyError, sqlite3.Error) as e:
            raise LedgerError(describe(self.target, e)) from None

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot on both databases); database errors as in :meth:`write`."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except (SQLAlchemyError, sqlite3.Error) as e:
            raise LedgerError(describe(self.target, e)) from None

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()


def _revision(conn: Connection) -> tuple[str | None, bool]:
    """``(schema revision or None, whether the database holds other tables)``."""
    insp = inspect(conn)
    names = set(insp.get_table_names())
    if "alembic_version" not in names:
        return None, bool(names)
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return (row[0] if row else None), True


def migrate(engine: Engine, target: LedgerTarget) -> None:
    """Bring the ledger to :data:`HEAD` with the shipped migrations, in one transaction, one process at a time."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    from patrol.ledger.schema import metadata

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    with engine.connect().execution_options(patrol_write=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK})
        rev, others = _revision(conn)  # again, under the lock: another process may have migrated meanwhile
        if rev is None and others:
            raise LedgerError(
                i18n._(
                    "ledger {shown}: a database that is not a patrol ledger (no schema revision); give another --ledger"
                ).format(shown=target.shown)
            )
        if rev == HEAD:
            return
        if rev is not None:
            try:
                script.get_revision(rev)
            except Exception:
                raise LedgerError(_newer(target, rev)) from None
        env = EnvironmentContext(cfg, script, fn=lambda r, _ctx: script._upgrade_revs("head", r))
        with env:
            env.configure(connection=conn, target_metadata=metadata)
            env.run_migrations()


def _newer(target: LedgerTarget, rev: str) -> str:
    return i18n._(
        "ledger {ledger} has schema {rev}, newer than this patrol knows ({head}); "
        "upgrade patrol to use it (nothing was written)"
    ).format(ledger=target.shown, rev=rev, head=HEAD)


def open_ledger(target: LedgerTarget, create: bool = True) -> Ledger:
    """Open (and with ``create``, make or migrate) the ledger ``target``; :class:`LedgerError` in one line if it
    cannot be used. Without ``create`` a missing SQLite file is an error, not a new empty ledger."""
    if target.off:
        raise LedgerError(i18n._("the ledger is off (--ledger off); give --ledger PATH or URL"))
    if target.is_sqlite:
        assert target.path is not None
        if not target.path.exists():
            if not create:
                raise LedgerError(
                    i18n._(
                        "no ledger at {shown} ({source}): nothing recorded there yet; give --ledger PATH|URL "
                        "or set PATROL_LEDGER"
                    ).format(shown=target.shown, source=target.source)
                )
            try:
                target.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LedgerError(
                    i18n._("ledger {shown}: cannot create its folder ({e})").format(shown=target.shown, e=e)
                ) from None
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            rev, _ = _revision(conn)
            conn.rollback()
        if rev != HEAD:
            if rev is not None and not _known(rev):
                raise LedgerError(_newer(target, rev))
            if not create and rev is None:
                raise LedgerError(
                    i18n._("ledger {shown}: not a patrol ledger (no schema revision)").format(shown=target.shown)
                )
            migrate(engine, target)
    except LedgerError:
        engine.dispose()
        raise
    except (SQLAlchemyError, DBAPIError, sqlite3.Error, OSError) as e:
        engine.dispose()
        raise LedgerError(describe(target, e)) from None
    return Ledger(engine, target)


def _known(rev: str) -> bool:
    """Whether ``rev`` is one of the shipped revisions (the file names of ``migrations/versions``)."""
    return any(p.stem == rev for p in (MIGRATIONS / "versions").glob("*.py"))


def inventory(ledger: Ledger) -> list[str]:
    """Lines saying what ``ledger`` is and holds; an SQLite file's integrity check must pass (else LedgerError)."""
    from sqlalchemy import func, select

    from patrol.ledger import schema as s

    head = i18n._("ledger {ledger} ({dialect}, from {source}), schema {schema}")
    lines = [head.format(ledger=ledger.target.shown, dialect=ledger.dialect, source=ledger.target.source, schema=HEAD)]
    with ledger.read() as conn:
        if ledger.dialect == "sqlite":
            bad = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all() if r[0] != "ok"]
            if bad:
                raise LedgerError(
                    i18n._("ledger {shown}: integrity check failed ({bad}); restore a backup").format(
                        shown=ledger.target.shown, bad=bad[0]
                    )
                )
            lines.append(i18n._("integrity check: ok"))
        for t in (s.compounds, s.packages, s.uploads, s.overrides, s.flights, s.plays, s.audits, s.hearings):
            lines.append(f"{t.name}: {conn.execute(select(func.count()).select_from(t)).scalar_one()}")
    return lines


def reader(ledger_opt: str | None) -> Ledger:
    """The ledger for a supervisor's command (status, map, report, sync, check), chosen as
    :func:`~patrol.ledger.config.ledger_url` says: it must exist; one line if it cannot be used."""
    from patrol.ledger.config import ledger_url

    return open_ledger(ledger_url(ledger_opt), create=False)
