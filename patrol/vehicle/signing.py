"""MAVLink 2 signing on the ground station's side: key files, the signing clock, and what a silent vehicle means.

A key file holds the 32-byte secret (``patrol keys new`` writes 32 raw bytes; 64 hex digits or a passphrase,
hashed with SHA-256 as MAVProxy's ``signing setup`` does, are read too). Like ssh with a private key, patrol
refuses a key file that its group or other users may read or write.

Replay protection (https://mavlink.io/en/guide/message_signing.html) rests on the signing timestamp: 10 µs
ticks since 2015-01-01, which must grow on every stream (link id, system, component). A laptop restarted with
its clock set back would sign with timestamps the vehicle has already seen, and the vehicle would drop them;
worse, a recorded old packet could be accepted again by a vehicle that has forgotten the stream. So patrol
keeps, per key (by its id, the first 8 hex digits of the key's SHA-256), the last timestamp it signed with
and a link id of its own, in ``$PATROL_STATE_DIR/signing/KEYID.json`` (``$XDG_STATE_HOME/patrol``, else
``~/.local/state/patrol``), and starts every session at ``max(now, last saved + 1)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrol.atomic import write_bytes, write_text
from patrol.errors import InputError, PatrolError
from patrol.i18n import _
from patrol.paths import state_dir

KEY_BYTES = 32
EPOCH_2015 = 1420070400  # the signing timestamp counts from 2015-01-01 00:00 UTC
TICKS_PER_S = 100_000  # 10 µs units
SIGNED_FLAG = 0x01  # MAVLINK_IFLAG_SIGNED in a MAVLink 2 header's incompat_flags
DOCS = "docs/flying.md"


class SigningError(PatrolError):
    """The vehicle and patrol do not agree on signing: no key, another key, or a key file not kept secret."""

    exit_code = 3


def key_id(key: bytes) -> str:
    """The key's public name: the first 8 hex digits of its SHA-256 (safe to print, log and compare).

    >>> key_id(bytes(32))
    '66687aad'
    """
    return hashlib.sha256(key).hexdigest()[:8]


def check_key_mode(path: Path) -> None:
    """Raise :class:`SigningError` if the key file at ``path`` may be read or written by its group or others.

    As ssh refuses a private key that is "too open": the fix is ``chmod 600``. Not checked where the
    system has no POSIX modes (Windows).
    """
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as e:
        raise SigningError(
            _("{path}: cannot read signing key ({strerror})").format(path=path, strerror=e.strerror)
        ) from None
    if mode & 0o077:
        raise SigningError(
            _(
                "{path}: signing key is open to other users (mode {mode}); run chmod 600 {path} (and "
                "consider the key exposed: patrol keys new)"
            ).format(path=path, mode=format(mode, "04o"))
        )


def read_key(path: str | Path) -> bytes:
    """The 32-byte signing key in ``path``: 32 raw bytes, 64 hex digits, or a passphrase (SHA-256 of it).

    Raises :class:`SigningError` for a key file others may read (see :func:`check_key_mode`), an unreadable
    or an empty one.
    """
    p = Path(path)
    check_key_mode(p)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise SigningError(_("{p}: cannot read signing key ({strerror})").format(p=p, strerror=e.strerror)) from None
    if len(raw) == KEY_BYTES:
        return raw
    text = raw.decode("utf-8", "replace").strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    if not text:
        raise SigningError(_("{p}: signing key file is empty; write a passphrase or 64 hex digits in it").format(p=p))
    return hashlib.sha256(text.encode()).digest()


def new_key_file(path: str | Path, overwrite: bool = False) -> tuple[Path, str]:
    """Write a fresh random 32-byte key to ``path`` (mode 0600, whole or not at all); returns the path and key id.

    An existing file is replaced only with ``overwrite``: a fleet's key lost is a fleet to re-key over USB.
    """
    p = Path(path)
    if p.exists() and not overwrite:
        raise InputError(
            _("{p}: already exists; pass --force to replace it (every vehicle holding it must be re-keyed)").format(p=p)
        )
    key = secrets.token_bytes(KEY_BYTES)
    write_bytes(p, key, mode=0o600)
    return p, key_id(key)


def now_timestamp(now_s: float | None = None) -> int:
    """The signing timestamp of wall-clock time ``now_s`` (default: now), in 10 µs ticks since 2015."""
    t = time.time() if now_s is None else now_s
    return int(max(t - EPOCH_2015, 0.0) * TICKS_PER_S)


@dataclass
class SigningClock:
    """This laptop's signing state for one key: its link id and the last timestamp signed with, kept on disk."""

    key_id: str
    link_id: int
    last_timestamp: int
    path: Path

    @classmethod
    def load(cls, key: bytes, folder: Path | None = None) -> SigningClock:
        """The saved state for ``key`` (a new link id, 1-254, and timestamp 0 the first time)."""
        kid = key_id(key)
        path = (folder if folder is not None else state_dir() / "signing") / f"{kid}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            link_id, last = int(doc["link_id"]), int(doc["timestamp"])
            if not 0 <= link_id <= 255 or last < 0:
                raise ValueError
        except FileNotFoundError:
            link_id, last = 1 + secrets.randbelow(254), 0
        except (OSError, ValueError, KeyError, TypeError):
            raise SigningError(
                _("{path}: signing state is unreadable; delete it only if this laptop's clock is right").format(
                    path=path
                )
            ) from None
        return cls(kid, link_id, last, path)

    def start(self, now_s: float | None = None) -> int:
        """The first timestamp of a new session: ``max(now, last saved + 1)``, saved at once (a session killed
        before :meth:`save` still moves the clock on)."""
        first = max(now_timestamp(now_s), self.last_timestamp + 1)
        self.save(first)
        return first

    def save(self, timestamp: int) -> None:
        """Keep ``timestamp`` as the last one used (never moves back)."""
        self.last_timestamp = max(self.last_timestamp, int(timestamp))
        doc = {"key_id": self.key_id, "link_id": self.link_id, "timestamp": self.last_timestamp}
        write_text(self.path, json.dumps(doc) + "\n")


def signed(raw: bytes | bytearray) -> bool:
    """True if the raw MAVLink 2 frame ``raw`` carries a signature."""
    return len(raw) > 2 and raw[0] == 0xFD and bool(raw[2] & SIGNED_FLAG)


def signature_matches(raw: bytes | bytearray, key: bytes) -> bool:
    """True if the signed MAVLink 2 frame ``raw`` was signed with ``key`` (whatever its timestamp)."""
    if not signed(raw) or len(raw) < 13:
        return False
    return hashlib.sha256(key + bytes(raw[:-6])).digest()[:6] == bytes(raw[-6:])


def frame_msgid(raw: bytes | bytearray) -> int | None:
    """The message id of a raw MAVLink 2 frame (None for anything else)."""
    if len(raw) < 10 or raw[0] != 0xFD:
        return None
    return raw[7] | raw[8] << 8 | raw[9] << 16


class Refusals:
    """What a connection's rejected frames say: counts of the vehicle's heartbeats we could not accept, by cause.

    Fed the raw bytes of every frame pymavlink refused for its signature (``BAD_DATA``, "Invalid signature");
    :meth:`verdict` is the one line to stop with, once two of the vehicle's heartbeats agree.
    """

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.other_key = 0  # signed, not with our key
        self.old_timestamp = 0  # signed with our key, refused for its timestamp
        self.unsigned = 0  # not signed at all while we hold a key

    def note(self, raw: bytes | bytearray) -> None:
        """Count one refused frame (only heartbeats count: one a second from every vehicle)."""
        if frame_msgid(raw) != 0 or self.key is None:
            return
        if not signed(raw):
            self.unsigned += 1
        elif signature_matches(raw, self.key):
            self.old_timestamp += 1
        else:
            self.other_key += 1

    def verdict(self, url: str) -> str | None:
        """The reason to give up on ``url``, or None while the evidence is thin."""
        kid = key_id(self.key) if self.key is not None else "-"
        if self.other_key >= 2:
            return _(
                "connection {url}: the vehicle's packets are signed with another key than ours (key id {kid}); "
                "give the fleet's key with --signing-key, or re-install it over USB with patrol keys install ({docs})"
            ).format(url=url, kid=kid, docs=DOCS)
        if self.unsigned >= 2:
            return _(
                "connection {url}: the vehicle sends unsigned MAVLink (it holds no signing key) and we refuse it; "
                "install the key with patrol keys install, or leave out --signing-key ({docs})"
            ).format(url=url, docs=DOCS)
        if self.old_timestamp >= 4:
            return _(
                "connection {url}: the vehicle signs with our key (key id {kid}) but its signing clock is more "
                "than a minute behind this laptop's; check the laptop's clock and the state in {state} ({docs})"
            ).format(url=url, kid=kid, state=state_dir() / "signing", docs=DOCS)
        return None


def unsigned_ignored(url: str) -> str:
    """The line for a vehicle that signs its packets and ignores our unsigned commands."""
    return _(
        "connection {url}: the vehicle sends signed MAVLink and ignores our unsigned commands: "
        "give --signing-key FILE ({docs})"
    ).format(url=url, docs=DOCS)


def setup_signing(conn: Any, target_system: int, target_component: int, key: bytes | None, timestamp: int) -> None:
    """Send SETUP_SIGNING: ``key`` from ``timestamp`` on, or (``key`` None) an all-zero key and timestamp 0, which
    makes ArduPilot stop signing. The vehicle sends no answer; the caller checks its heartbeats."""
    if key is None:
        conn.mav.setup_signing_send(target_system, target_component, [0] * KEY_BYTES, 0)
    else:
        conn.mav.setup_signing_send(target_system, target_component, list(key), timestamp)
