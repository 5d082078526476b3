"""Paths as patrol writes them for others: never an absolute path of the planning machine.

A package, a page or a report goes to other people and other machines; a path such as
``/home/wang/patrol/audio_prompts/catalogue.toml`` says nothing to them and tells them about the planner's
disk. :func:`portable` gives a file inside patrol's own folder relative to it, one inside the working folder
relative to that, and any other by its name.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
_CRS_SUFFIXES = ("wgs84", "gcj02", "bd09")


def portable(path: str | Path, cwd: str | Path | None = None) -> str:
    """``path`` as others may read it: relative as given, else relative to patrol's folder or the working folder,
    else its name.

    >>> portable("geofences/sample_district.geojson")
    'geofences/sample_district.geojson'
    >>> portable(PROJECT / "audio_prompts" / "catalogue.toml")
    'audio_prompts/catalogue.toml'
    >>> portable("/somewhere/else/today", cwd="/tmp")
    'today'
    """
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    p = Path(os.path.normpath(p))
    bases = (PROJECT, Path(cwd if cwd is not None else Path.cwd()).resolve())
    for candidate in (p, p.resolve()):
        for base in bases:
            try:
                return candidate.relative_to(base).as_posix() or "."
            except ValueError:
                continue
    return p.name


def state_dir() -> Path:
    """Where patrol keeps what must outlive a run on this machine (the signing clock): ``$PATROL_STATE_DIR``, else
    ``$XDG_STATE_HOME/patrol``, else ``~/.local/state/patrol``."""
    if os.environ.get("PATROL_STATE_DIR"):
        return Path(os.environ["PATROL_STATE_DIR"])
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "patrol"


def portable_arg(arg: str) -> str:
    """A command-line word with any absolute path in it made :func:`portable` (``FILE:CRS``, ``--opt=FILE`` too).

    >>> portable_arg("--nofly=/elsewhere/zones.geojson:gcj02")
    '--nofly=zones.geojson:gcj02'
    """
    head, sep, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
    if not value.startswith("/"):
        return arg
    path, colon, crs = value.rpartition(":")
    if not (colon and crs.lower() in _CRS_SUFFIXES):
        path, colon, crs = value, "", ""
    return f"{head}{sep}{portable(path)}{colon}{crs}"


def recorded_command(argv: list[str]) -> str:
    """The command as the manifest records it: ``patrol`` and its words, absolute paths made portable."""
    return "patrol " + " ".join(shlex.quote(portable_arg(a)) for a in argv)
