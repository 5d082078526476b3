"""The prompt cache: finished clips kept by the hash of everything that made them.

A clip's key is the sha256 of a canonical JSON of its recipe: the text (or the recorded file's sha256),
the engine and its version, the voice id, the speaking rate, the loudness target and peak, the sample
rate and the version of patrol's audio pipeline. Same recipe, same bytes: a hit replaces synthesis.

Layout under ``$XDG_CACHE_HOME/patrol`` (else ``~/.cache/patrol``)::

    prompts/ab/abcdef....wav    the normalised clip, exactly as a build ships it
    prompts/ab/abcdef....json   its recipe and the sha256 of the .wav

Both files are written to a temporary name and renamed, the .json last, so an entry without its .json
is a half-written one. An entry whose .wav does not hash to what its .json says (a damaged disk, a
killed writer, a hand edit) is removed and rebuilt, never used. Two processes filling the same key
write the same bytes; whichever rename lands last wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIPELINE_VERSION = 1  # bump when trimming, resampling, normalising or WAV writing changes


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/patrol``, else ``~/.cache/patrol`` (the folder need not exist)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "patrol"


def recipe_key(recipe: dict[str, Any]) -> str:
    """The cache key of ``recipe``: sha256 of its canonical JSON (sorted keys, no spaces)."""
    canon = json.dumps({**recipe, "pipeline": PIPELINE_VERSION}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass
class PromptCache:
    """Clips by key under ``root`` (default :func:`cache_root`); ``enabled=False`` reads and writes nothing.

    ``hits``, ``misses`` and ``rebuilt`` count this object's lookups (``rebuilt``: damaged entries removed).
    """

    root: Path | None = None
    enabled: bool = True
    hits: int = 0
    misses: int = 0
    rebuilt: int = 0

    def __post_init__(self) -> None:
        self.root = (self.root or cache_root()) / "prompts"

    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.root is not None
        d = self.root / key[:2]
        return d / f"{key}.wav", d / f"{key}.json"

    def get(self, key: str) -> bytes | None:
        """The clip stored under ``key`` if it is whole (its sha256 checks), else None (and it is removed)."""
        if not self.enabled:
            return None
        wav, meta = self._paths(key)
        try:
            doc = json.loads(meta.read_text(encoding="utf-8"))
            data = wav.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError):
            data, doc = b"", {}
        if hashlib.sha256(data).hexdigest() != doc.get("sha256"):
            self.rebuilt += 1
            self.misses += 1
            for f in (meta, wav):
                f.unlink(missing_ok=True)
            return None
        self.hits += 1
        return data

    def put(self, key: str, data: bytes, recipe: dict[str, Any]) -> None:
        """Store ``data`` under ``key`` (atomically; a cache that cannot be written is skipped silently)."""
        if not self.enabled:
            return
        wav, meta = self._paths(key)
        doc = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "recipe": recipe}
        try:
            wav.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(wav, data)
            _write_atomic(meta, (json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        except OSError:
            return  # a read-only or full cache folder must not stop a build

    def entries(self) -> list[Path]:
        """The .wav files of whole-looking entries (those with their .json)."""
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(w for w in self.root.glob("*/*.wav") if w.with_suffix(".json").exists())

    def clear(self) -> int:
        """Remove every entry (and stray temporary files); the number of clips removed."""
        n = len(self.entries())
        if self.root is not None and self.root.is_dir():
            for f in sorted(self.root.glob("*/*")):
                f.unlink(missing_ok=True)
            for d in sorted(self.root.glob("*")):
                if d.is_dir():
                    d.rmdir()
        return n


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
