"""One utterance with pyttsx3 on espeak-ng, in a process of its own (``python -m patrol.speech.espeak_worker``).

Why a process per clip (measured, see docs/broadcast.md):

* pyttsx3 2.99's espeak driver starts espeak-ng in ``AUDIO_OUTPUT_RETRIEVAL`` mode, which synthesises
  on espeak-ng's own thread, and its ``runAndWait()`` does not wait for it: the ``endLoop`` command that
  ``runAndWait`` queues is pumped at the loop's first ``setBusy(False)``, before synthesis starts, so
  the loop makes one 10 ms pass and returns. The WAV appears only if espeak-ng finished within those
  10 ms (short sentences on an idle machine); under load it is written later, from the C callback,
  often after the caller has given up and removed the folder it was to be written into.
* espeak-ng keeps synthesis state between utterances in one process (waveform phase, flutter and noise
  generators), so the same text comes out different on every call after the first: only the first
  utterance of a fresh process is bit-identical run to run (and to the ``espeak-ng`` command).

* Property changes are espeak-ng commands too, queued to the same thread, and ``runAndWait()``'s early
  ``endLoop`` calls the driver's ``stop()``, which cancels espeak-ng (``espeak_Cancel``: pending
  commands dropped, parameters reset) whenever that thread is still busy, and leaves the driver's
  ``_stopping`` flag set, so that the *next* utterance is cancelled as soon as it starts (measured:
  13 clips in 300 made two at a time on a loaded machine came back "cancelled"). Properties set on a fresh
  engine are only applied inside ``runAndWait()``, right before that ``stop()``: on a busy machine the
  rate was lost and the clip spoken at 200 words a minute instead of 150 (measured: 3 to 4 clips in 100
  when two builds ran at once).

So each clip is the first and only utterance of a short-lived process. It waits until espeak-ng has
applied the driver's own start-up settings, then lets pyttsx3 pump its queue once (an empty
``runAndWait()``), so that properties then apply at once; sets voice and rate and
waits until espeak-ng has applied them (``espeak_IsPlaying()`` false); only then queues the text, and
waits for pyttsx3's own ``finished-utterance`` notification (with a deadline) before it exits. Nothing of espeak-ng's C
callbacks runs in the caller's process. Exit codes: 0 written, 2 bad voice, 3 no engine, 4 timed out
or cancelled. Errors are one line on stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import time
from pathlib import Path


def synthesise(text: str, voice: str, rate_wpm: int, out: Path, timeout_s: float) -> int:
    """Write ``text`` spoken by espeak-ng ``voice`` at ``rate_wpm`` to the WAV ``out``; an exit code."""
    try:
        import pyttsx3

        engine = pyttsx3.init("espeak")
    except (ImportError, RuntimeError, OSError) as e:
        print(f"pyttsx3 cannot start espeak-ng ({e}); install the Debian package libespeak-ng1", file=sys.stderr)
        return 3
    if voice not in {v.id for v in engine.getProperty("voices")}:
        print(f"espeak-ng has no voice {voice!r}; install the Debian package espeak-ng-data", file=sys.stderr)
        return 2
    from pyttsx3.drivers import _espeak

    def espeak_idle() -> bool:
        deadline = time.monotonic() + timeout_s
        while _espeak.IsPlaying():
            if time.monotonic() > deadline:
                print(f"espeak-ng stayed busy for {timeout_s:g} s", file=sys.stderr)
                return False
            time.sleep(0.002)
        return True

    # The driver's own start-up rate and volume are queued espeak-ng commands too: if the empty run below
    # found espeak-ng still busy with them, its stop() would leave the driver's "stopping" flag set and
    # cancel our utterance later. So wait for them first.
    if not espeak_idle():
        return 4
    engine.runAndWait()  # nothing to say: drains pyttsx3's queue, so properties below apply at once
    if not espeak_idle():
        return 4
    finished = threading.Event()
    outcome: dict[str, object] = {}

    def on_finished(name: object, completed: bool) -> None:
        outcome["completed"] = completed
        finished.set()

    def on_error(name: object, exception: BaseException) -> None:
        outcome["error"] = exception
        finished.set()

    engine.connect("finished-utterance", on_finished)
    engine.connect("error", on_error)
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate_wpm)
    if not espeak_idle():  # the rate is a queued command: it must be applied before runAndWait's stop()
        return 4
    applied = (engine.getProperty("voice"), _espeak.dll.espeak_GetParameter(_espeak.RATE, 1))
    if applied != (voice, rate_wpm):
        print(f"espeak-ng did not take voice {voice!r} at {rate_wpm} wpm (it has {applied})", file=sys.stderr)
        return 4
    with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to ..."
        engine.save_to_file(text, str(out))
        engine.runAndWait()  # returns before espeak-ng has finished: wait for its notification
        done = finished.wait(timeout_s)
    if not done:
        print(f"espeak-ng did not finish within {timeout_s:g} s", file=sys.stderr)
        return 4
    if "error" in outcome or not outcome.get("completed"):
        print(f"espeak-ng stopped before the end ({outcome.get('error', 'cancelled')})", file=sys.stderr)
        return 4
    espeak_idle()  # the notification comes from inside espeak-ng's callback: let it return first
    return 0


def main() -> None:
    """Read ``{"text", "voice", "rate_wpm", "out", "timeout_s"}`` as JSON on stdin, synthesise, exit.

    The process ends with ``os._exit`` so that interpreter shutdown never races espeak-ng's thread.
    """
    job = json.loads(sys.stdin.read())
    code = synthesise(str(job["text"]), str(job["voice"]), int(job["rate_wpm"]), Path(job["out"]), job["timeout_s"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
