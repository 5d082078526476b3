"""Files and folders written whole or not at all: a temporary sibling, renamed into place.

A reader (another process, the vehicle's ground station, a killed and restarted command) sees either
the previous file or folder or the complete new one, never a half. Shared by every stage that writes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from patrol.errors import PatrolError


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling renamed into place."""
    return write_bytes(path, text.encode("utf-8"))


def write_folder(files: dict[str, str | bytes], out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write ``files`` (relative name to text or bytes) as the folder ``out_dir``, atomically.

    The files go into a temporary sibling folder that is renamed into place; an existing folder is
    replaced only with ``overwrite`` (else :class:`PatrolError` naming it and the fix).
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise PatrolError(f"{out}: already exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, content in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
