"""Files and folders written whole or not at all: a temporary sibling, renamed (or exchanged) into place.

A reader (another process, the vehicle's ground station, a killed and restarted command) sees either
the previous file or folder or the complete new one, never a half. Shared by every stage that writes.

A new file or folder is renamed into place (``rename(2)`` is atomic). A folder that already exists cannot be
renamed over (``rename`` refuses a non-empty target), so on Linux the complete new folder and the old one are
swapped in one step with ``renameat2(RENAME_EXCHANGE)`` (Linux 3.15, glibc 2.28; ext4, xfs, btrfs, tmpfs)
and the old one, now under the temporary name, is removed. Elsewhere (or on a file system without the
exchange) the old folder is first renamed aside to ``.NAME.old`` and the new one renamed in: a process killed
between those two renames leaves no ``NAME`` but the complete previous folder as ``.NAME.old``, which the next
write puts back before anything else.

Temporary siblings carry the writer's process id (``.NAME.PID.XXXX.tmp``); a writer killed with SIGKILL leaves
its own behind, and the next folder write to the same name removes those whose process is gone (a file's
temporary sibling is left for :func:`clean_stale`: the prompt cache writes thousands of files into one folder).
Nothing here calls ``fsync``: what is promised is whole-or-nothing against a killed process, not a power cut.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from patrol.errors import PatrolError
from patrol.i18n import _

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _renameat2() -> Any:
    """libc's ``renameat2`` (None where there is none: not Linux, or glibc before 2.28)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def exchange(a: str | Path, b: str | Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system or file system cannot (the caller falls back); raises OSError otherwise.
    """
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: str | Path) -> list[Path]:
    """Remove the temporary siblings of ``out`` left by writers that were killed; returns what it removed.

    A folder whose write was cut between the two renames of the fallback (``.NAME.old`` with no ``NAME``) is
    put back first: it is the complete previous version.
    """
    target = Path(out)
    parent = target.parent
    if not parent.is_dir():
        return []
    old = target.with_name(f".{target.name}.old")
    if old.exists() and not target.exists():
        os.replace(old, target)
    removed = []
    for p in parent.iterdir():
        m = _TMP.match(p.name)
        if not m or m["name"] != target.name or _alive(int(m["pid"])):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    if old.exists() and target.exists():
        shutil.rmtree(old, ignore_errors=True)
    return removed


def _prefix(out: Path) -> str:
    return f".{out.name}.{os.getpid()}."


def write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place; returns the path.

    With ``mode`` the file has that mode from before its first byte is written (a secret is never readable
    by others, not even half-written); else the temporary file's 0600.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(out), suffix=".tmp", dir=out.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
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

    The files go into a temporary sibling folder that is renamed (or, over an existing folder, exchanged)
    into place; an existing folder is replaced only with ``overwrite`` (else :class:`PatrolError` naming it
    and the fix). See the module docstring for what a killed writer leaves.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    if out.exists() and not overwrite:
        raise PatrolError(_("{out}: already exists; pass --force to replace it").format(out=out))
    if out.exists() and not out.is_dir():
        raise PatrolError(_("{out}: is a file, not a folder; remove it or choose another --output").format(out=out))
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(out), suffix=".tmp", dir=out.parent))
    try:
        for name, content in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if not out.exists():
            os.replace(tmp, out)
        elif not exchange(tmp, out):
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after an exchange: the previous folder
    return out
