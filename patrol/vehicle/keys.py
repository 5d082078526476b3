"""Putting a signing key on a vehicle and taking it off again (SETUP_SIGNING), and checking that it took.

ArduPilot answers SETUP_SIGNING with nothing: it stores the key and its initial timestamp and signs every packet
it sends from then on, on every port, and from then on refuses unsigned (and wrongly signed) packets on every port
but SERIAL0 (its USB port; SITL's first TCP port). So the key is sent over a link the operator trusts (USB, or
the old key's signed link when rotating) and the proof is the vehicle's next heartbeats: signed with the new key,
or, after a removal, unsigned. ArduPilot refuses either change while armed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from patrol import i18n
from patrol.vehicle.link import Link, connect
from patrol.vehicle.signing import (
    SIGNED_FLAG,
    SigningClock,
    SigningError,
    key_id,
    read_key,
    setup_signing,
)

Say = Callable[[str], None]
ANSWER_S = 3.0  # ArduPilot sends a heartbeat a second: three of them missed is a refusal
ATTEMPTS = 2


def _heartbeat(link: Link, want_signed: bool, timeout_s: float) -> bool:
    """True once a heartbeat of the vehicle arrives that pymavlink accepted and that is (not) signed."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        m = link.recv(("HEARTBEAT",), left)
        if m is not None and bool(m._header.incompat_flags & SIGNED_FLAG) == want_signed:
            return not want_signed or m.get_signed()
    return False


def install_key(url: str, key_path: Path, current_key: Path | None = None, say: Say | None = None) -> str:
    """Put the key in ``key_path`` on the vehicle at ``url`` and return its key id once the vehicle signs with it.

    ``current_key`` is the key the vehicle holds now, for a rotation over a signed (non-USB) link. Raises
    :class:`~patrol.vehicle.signing.SigningError` when the vehicle's heartbeats do not turn to the new key.
    """
    key = read_key(key_path)
    clock = SigningClock.load(key)
    link = connect(url, signing_key=current_key)
    try:
        for _ in range(ATTEMPTS):
            # never below a timestamp this laptop signed with or the vehicle sent (replays stay old)
            ts = max(clock.start(), link.conn.mav.signing.timestamp + 1)
            setup_signing(link.conn, link.target_system, link.target_component, key, ts)
            link.conn.setup_signing(key, sign_outgoing=True, initial_timestamp=ts + 1, link_id=clock.link_id)
            link.clock = clock
            if _heartbeat(link, True, ANSWER_S):
                if say is not None:
                    say(
                        i18n._("vehicle {id} signs with key id {key_id}").format(
                            id=link.target_system, key_id=key_id(key)
                        )
                    )
                return key_id(key)
        raise SigningError(
            i18n._(
                "{url}: the vehicle did not take key id {key_id} (its heartbeats are not signed with "
                "it); ArduPilot refuses a new key while armed, and over a port other than USB it "
                "needs the current key (--signing-key)"
            ).format(url=url, key_id=key_id(key))
        )
    finally:
        link.close()


def remove_key(url: str, current_key: Path | None = None, say: Say | None = None) -> None:
    """Make the vehicle at ``url`` stop signing (SETUP_SIGNING with a zero key and timestamp 0) and check that its
    heartbeats come unsigned. ``current_key`` signs the request where the port is not USB."""
    link = connect(url, signing_key=current_key)
    try:
        if current_key is not None:
            link.conn.mav.signing.allow_unsigned_callback = lambda _mav, _msgid: True
        for _ in range(ATTEMPTS):
            setup_signing(link.conn, link.target_system, link.target_component, None, 0)
            if _heartbeat(link, False, ANSWER_S):
                if say is not None:
                    say(
                        i18n._("vehicle {id} no longer signs: it takes unsigned commands on every port").format(
                            id=link.target_system
                        )
                    )
                return
        raise SigningError(
            i18n._(
                "{url}: the vehicle still signs its heartbeats; ArduPilot refuses to drop its key "
                "while armed, and over a port other than USB the request must be signed with its key "
                "(--signing-key)"
            ).format(url=url)
        )
    finally:
        link.close()
