"""What the speaker plays, where and when, as the planned sortie's cues make it play.

The planner's heard-whole prediction is the audit's computation (:func:`patrol.plan.coverage.hear`) run on
what the plan expects a flight to log: the track sampled from the sortie's waypoints with the sorties'
time model (every waypoint a stop, :func:`patrol.plan.route.leg_time_s`; take-off climbs in place, a
hotspot hovers its loiter), and the speaker events the cues raise when the vehicle completes the waypoint
they follow (DO commands run then): ENTER loops the compound's prompt, HOTSPOT plays its prompt ``repeats``
times and then the loop resumes (as the Lua applet does), LEAVE stops (unless it ``plays_on`` over a transit
across compounds of the sortie). Transit that no cue covers is silent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from patrol.plan.coverage import REPEAT_GAP_S, SpeakerEvent
from patrol.plan.sorties import leg_time_s, step_speed
from patrol.types import Cue, CueKind, Sortie, Vehicle

SAMPLE_M = 4.0  # the planned track is sampled at least every this many metres...
SAMPLE_S = 1.0  # ...and every this many seconds

ClipOf = Callable[[Cue], "tuple[int, float, int] | None"]  # cue -> (track, clip_s, repeats), None: no sound


@dataclass(frozen=True)
class PlannedTrack:
    """A sortie as the plan expects it flown: samples (time, position, altitude) and when each step is done."""

    t_s: np.ndarray
    xy: np.ndarray
    alt_m: np.ndarray
    done_s: np.ndarray  # per step: when the vehicle completes it (arrives, or ends its loiter)
    knots_s: np.ndarray  # where the path may bend: take-off, its end, every arrival, every hover's end

    def at_knots_and(self, plays: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(t_s, xy, alt_m)`` of the track at its knots and at the start and end of every play.

        The track is straight between those times, and the distance from a point to a straight piece is
        largest at one of its ends: so "within the radius at every sample of a play"
        (:func:`patrol.plan.coverage.hear`) on these samples is exact for the continuous track (at constant
        altitude; a climb's radius is interpolated), with a fraction of the samples.
        """
        t = np.unique(np.concatenate([self.knots_s, np.asarray(plays, float).reshape(-1)]))
        t = t[(t >= self.t_s[0]) & (t <= self.t_s[-1])]
        xy = np.column_stack([np.interp(t, self.t_s, self.xy[:, 0]), np.interp(t, self.t_s, self.xy[:, 1])])
        return t, xy, np.interp(t, self.t_s, self.alt_m)


def _progress(t: np.ndarray, length_m: float, speed_mps: float, accel_mps2: float, total_s: float) -> np.ndarray:
    """Fraction of a stop-to-stop leg flown at times ``t`` (accelerate, cruise, decelerate)."""
    if length_m <= 0 or total_s <= 0:
        return np.ones_like(t)
    if leg_time_s(length_m, speed_mps, accel_mps2) < total_s - 1e-9:  # a climb or descent sets the time
        return t / total_s
    a, v = accel_mps2, speed_mps
    if length_m < v * v / a:
        v = math.sqrt(length_m * a)  # never reaches cruise
    ta = v / a
    s = np.where(
        t < ta, 0.5 * a * t * t, np.where(t > total_s - ta, length_m - 0.5 * a * (total_s - t) ** 2, v * t - v * ta / 2)
    )
    return np.clip(s / length_m, 0.0, 1.0)


def planned_track(sortie: Sortie, home: tuple[float, float], patrol_speed_mps: float, vehicle: Vehicle) -> PlannedTrack:
    """The planned track of ``sortie``: climb at home, every leg stop to stop, loiters hovered."""
    ts, xs, ys, zs = [np.zeros(1)], [np.array([home[0]])], [np.array([home[1]])], [np.zeros(1)]
    t, pos, z = 0.0, home, 0.0
    done, knots = [], [0.0]

    def hold(x: float, y: float, alt: float, dur: float) -> None:
        nonlocal t
        k = max(math.ceil(dur / SAMPLE_S), 1)
        tt = np.linspace(0.0, dur, k + 1)[1:]
        ts.append(t + tt), xs.append(np.full(k, x)), ys.append(np.full(k, y)), zs.append(np.full(k, alt))
        t += dur

    if sortie.steps:  # NAV_TAKEOFF at home to the first step's altitude
        z1 = sortie.steps[0].alt_m
        n = max(math.ceil(z1 / vehicle.climb_mps / SAMPLE_S), 1)
        f = np.linspace(0.0, 1.0, n + 1)[1:]
        ts.append(f * z1 / vehicle.climb_mps), xs.append(np.full(n, home[0])), ys.append(np.full(n, home[1]))
        zs.append(f * z1)
        t, z = z1 / vehicle.climb_mps, z1
        knots.append(t)
    for st in sortie.steps:
        d = math.hypot(st.x_m - pos[0], st.y_m - pos[1])
        v = step_speed(st, patrol_speed_mps, vehicle)
        dz = st.alt_m - z
        total = max(leg_time_s(d, v, vehicle.accel_mps2), dz / vehicle.climb_mps, -dz / vehicle.descent_mps)
        if total > 0:
            n = max(math.ceil(total / SAMPLE_S), math.ceil(d / SAMPLE_M), 1)
            tt = np.linspace(0.0, total, n + 1)[1:]
            f = _progress(tt, d, v, vehicle.accel_mps2, total)
            ts.append(t + tt)
            xs.append(pos[0] + f * (st.x_m - pos[0]))
            ys.append(pos[1] + f * (st.y_m - pos[1]))
            zs.append(z + (f if d > 0 else tt / total) * dz)
            t += total
        pos, z = (st.x_m, st.y_m), st.alt_m
        knots.append(t)
        if st.loiter_s > 0:
            hold(st.x_m, st.y_m, st.alt_m, st.loiter_s)
            knots.append(t)
        done.append(t)
    return PlannedTrack(
        np.concatenate(ts),
        np.column_stack([np.concatenate(xs), np.concatenate(ys)]),
        np.concatenate(zs),
        np.array(done),
        np.array(knots),
    )


def planned_events(sortie: Sortie, done_s: np.ndarray, clip_of: ClipOf) -> list[SpeakerEvent]:
    """The speaker events the cues of ``sortie`` raise, as the applet would report them.

    A cue after step ``k`` fires when step ``k`` is done; a hotspot play is followed by a ``resume`` of the
    loop that was playing, ``repeats x (clip + 1 s)`` later, unless another cue came first.
    """
    out: list[SpeakerEvent] = []
    loop: int | None = None
    for k, cue in sortie.cues:
        t = float(done_s[k])
        if out and out[-1][1] == "resume" and out[-1][0] > t:  # a cue before the resume cancels it
            out.pop()
        if cue.kind == CueKind.LEAVE:
            if cue.plays_on:  # the loop plays on over the transit to the next compound
                continue
            out.append((t, "stop", 0, 0))
            loop = None
            continue
        clip = clip_of(cue)
        if clip is None:
            continue
        track, clip_s, repeats = clip
        if cue.kind == CueKind.ENTER:
            out.append((t, "loop", track, 0))
            loop = track
        else:
            out.append((t, "play", track, repeats))
            if loop is not None:
                out.append((t + max(repeats, 1) * (clip_s + REPEAT_GAP_S), "resume", loop, 0))
    return out
