"""Where the ledger is and who is writing: ``--ledger``, then ``$PATROL_LEDGER``, then a config file, then the
default ``missions/ledger.sqlite`` (beside the mission packages ``patrol plan -o missions/NAME`` writes).

A ledger is a path (an SQLite file), an SQLAlchemy URL (``postgresql://user@host/db``, ``sqlite:///file``) or
``off`` (record nothing: test benches). The config file is ``./patrol.toml`` or else
``$XDG_CONFIG_HOME/patrol/config.toml`` (``~/.config/patrol/config.toml``)::

    [ledger]
    url = "postgresql://patrol@ledger.city.example/patrol"   # or a path, relative to this file
    operator = "Wang Li"                                      # who flies from this laptop

The operator is ``--operator``, else ``$PATROL_OPERATOR``, else the config's ``operator``, else ``user@host``.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrol import i18n
from patrol.config import find_config, read_toml
from patrol.errors import InputError

DEFAULT_PATH = Path("missions") / "ledger.sqlite"
ENV_LEDGER = "PATROL_LEDGER"
ENV_OPERATOR = "PATROL_OPERATOR"
OFF = ("off", "none")


@dataclass(frozen=True)
class LedgerTarget:
    """A ledger to open: its SQLAlchemy URL, how to name it in messages (no password), where the choice came
    from, and the SQLite file (None for a server). ``url`` is None when recording is off."""

    url: str | None
    shown: str
    source: str
    path: Path | None = None

    @property
    def off(self) -> bool:
        """Recording is switched off (``--ledger off``)."""
        return self.url is None

    @property
    def key(self) -> str:
        """The ledger's identity for the spool: the absolute file, or the URL without its password."""
        return str(self.path.absolute()) if self.path is not None else self.shown

    @property
    def is_sqlite(self) -> bool:
        """The ledger is an SQLite file."""
        return self.path is not None


def _config() -> tuple[dict[str, Any], Path | None]:
    """The ``[ledger]`` table of the settings file (:func:`patrol.config.find_config`), and that file."""
    path = find_config()
    if path is None:
        return {}, None
    table = read_toml(path).get("ledger", {})
    if not isinstance(table, dict):
        raise InputError(i18n._("{path}: [ledger] must be a table with url = ... and operator = ...").format(path=path))
    return table, path


def target_from(value: str, source: str, base: Path | None = None) -> LedgerTarget:
    """The ledger ``value`` names (a path, a URL or ``off``); relative paths are taken from ``base``.

    >>> target_from("off", "--ledger").off
    True
    >>> target_from("postgresql://patrol:secret@db/patrol", "--ledger").shown
    'postgresql://patrol:***@db/patrol'
    >>> target_from("postgresql://db/patrol", "--ledger").url
    'postgresql+psycopg://db/patrol'
    """
    v = value.strip()
    if v.lower() in OFF:
        return LedgerTarget(None, "off", source)
    if "://" in v:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(v)
        except ArgumentError:
            msg = i18n._("{source} {value}: not a database URL; give postgresql://USER@HOST/DB or a file path").format(
                source=source, value=repr(v)
            )
            raise InputError(msg) from None
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() == "sqlite":
            if not url.database:
                raise InputError(
                    i18n._("{source} {v}: give the SQLite file, e.g. sqlite:///missions/ledger.sqlite").format(
                        source=source, v=repr(v)
                    )
                )
            return target_from(url.database, source, base)
        if url.get_backend_name() != "postgresql":
            raise InputError(
                i18n._("{source} {v}: patrol keeps its ledger in SQLite or PostgreSQL").format(source=source, v=repr(v))
            )
        shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
        return LedgerTarget(url.render_as_string(hide_password=False), shown, source)
    path = Path(v).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return LedgerTarget(f"sqlite:///{path.absolute()}", str(path), source, path)


def ledger_url(option: str | None) -> LedgerTarget:
    """The ledger chosen by ``--ledger`` (``option``), else ``$PATROL_LEDGER``, else the config, else the default."""
    if option:
        return target_from(option, "--ledger")
    if os.environ.get(ENV_LEDGER):
        return target_from(os.environ[ENV_LEDGER], ENV_LEDGER)
    table, path = _config()
    if table.get("url"):
        assert path is not None
        return target_from(str(table["url"]), f"{path} [ledger] url", path.absolute().parent)
    return target_from(str(DEFAULT_PATH), "default")


def operator_name(option: str | None) -> str:
    """Who is writing: ``--operator``, else ``$PATROL_OPERATOR``, else the config's ``operator``, else user@host."""
    if option and option.strip():
        return option.strip()
    if os.environ.get(ENV_OPERATOR, "").strip():
        return os.environ[ENV_OPERATOR].strip()
    table, _ = _config()
    if str(table.get("operator", "")).strip():
        return str(table["operator"]).strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
