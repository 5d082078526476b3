"""How far the loudspeaker carries, and the lane spacing and speed that let it be heard whole.

Model (derivation in docs/acoustics.md): a point source of level ``L1`` dB at 1 m falls off by
spherical spreading and atmospheric absorption, ``L(d) = L1 - 20 log10(d) - a d``. A resident hears
the warning when ``L(d) >= ambient + snr``; the largest such ``d`` is the slant range ``D``. At height
``h`` above the listener the audible ground radius is ``r = sqrt(D² - h²)``.

"Heard whole": with lanes ``s`` apart flown at ``v``, the worst-placed point (half-way between two
lanes) is in range for ``2 sqrt(r² - (s/2)²) / v`` seconds, which must be at least one prompt ``P``.
The area swept per second is ``s v``; it is largest at ``s = r sqrt(2)``, ``v = r sqrt(2) / P``; when
that speed exceeds the vehicle's limit, ``v = v_max`` and ``s = 2 sqrt(r² - (P v_max / 2)²)``.
"""

from __future__ import annotations

import math

from patrol.errors import PlanningError
from patrol.i18n import _
from patrol.types import Audibility, PatrolParams, Speaker, Vehicle


def received_level_db(speaker: Speaker, slant_m: float) -> float:
    """Sound level in dB at ``slant_m`` metres from the speaker (spreading plus absorption).

    Examples
    --------
    >>> round(received_level_db(Speaker(level_db_at_1m=100.0, absorption_db_per_km=0.0), 10.0), 6)
    80.0
    """
    d = max(slant_m, 1.0)
    return speaker.level_db_at_1m - 20.0 * math.log10(d) - speaker.absorption_db_per_km * d / 1000.0


def max_slant_range_m(speaker: Speaker) -> float:
    """Largest distance at which the warning stands ``snr_db`` above the ambient noise.

    Returns 0 when the speaker is not loud enough even at 1 m.

    Examples
    --------
    >>> round(max_slant_range_m(Speaker(level_db_at_1m=100, ambient_db=55, snr_db=5,
    ...                                 absorption_db_per_km=0)), 1)
    100.0
    """
    need = speaker.ambient_db + speaker.snr_db
    if received_level_db(speaker, 1.0) < need:
        return 0.0
    lo, hi = 1.0, 1.0
    while received_level_db(speaker, hi) >= need:
        hi *= 2.0
        if hi > 1e6:
            return hi
    for _step in range(80):
        mid = 0.5 * (lo + hi)
        if received_level_db(speaker, mid) >= need:
            lo = mid
        else:
            hi = mid
    return lo


def speaker_db_for(speaker: Speaker, slant_m: float) -> float:
    """The speaker level at 1 m (dB) that is heard at ``slant_m`` under the same conditions.

    >>> round(speaker_db_for(Speaker(), max_slant_range_m(Speaker())), 1)
    100.0
    """
    return speaker.level_db_at_1m - received_level_db(speaker, slant_m) + speaker.ambient_db + speaker.snr_db


def audible_radius_m(speaker: Speaker, alt_m: float) -> tuple[float, float]:
    """Return ``(slant_range_m, ground_radius_m)`` for a speaker flown ``alt_m`` above the ground.

    Raises :class:`PlanningError` when the altitude is too high for the warning to be heard at all.
    """
    slant = max_slant_range_m(speaker)
    h = max(alt_m - speaker.listener_height_m, 0.0)
    if slant <= h + 1.0:
        need = speaker_db_for(speaker, math.hypot(h, 30.0))
        raise PlanningError(
            _(
                "at {alt_m} m the warning is not heard on the ground: a {speaker_db} dB speaker over {ambient_db} dB "
                "ambient (+{snr_db} dB margin) carries {slant_m} m; fly below {below_m} m or use a speaker of "
                "--speaker-db {need_db} or more (heard 30 m around)"
            ).format(
                alt_m=f"{alt_m:.0f}",
                speaker_db=f"{speaker.level_db_at_1m:.0f}",
                ambient_db=f"{speaker.ambient_db:.0f}",
                snr_db=f"{speaker.snr_db:.0f}",
                slant_m=f"{slant:.0f}",
                below_m=f"{max(slant - 1.0 + speaker.listener_height_m, 0):.0f}",
                need_db=math.ceil(need),
            )
        )
    return slant, math.sqrt(slant * slant - h * h)


def heard_s(radius_m: float, spacing_m: float, speed_mps: float) -> float:
    """Seconds the worst-placed point (half-way between lanes) is in range on one pass.

    Examples
    --------
    >>> heard_s(30.0, 36.0, 4.0)
    12.0
    """
    half = spacing_m / 2.0
    if half >= radius_m:
        return 0.0
    return 2.0 * math.sqrt(radius_m * radius_m - half * half) / speed_mps


MAX_SPACING_RADII = 1.98  # the widest lane spacing, in audible radii, whose sweep keeps every point in range


def max_spacing_m(radius_m: float) -> float:
    """The widest lane spacing the planner accepts for ``radius_m``: every point stays in range.

    The sweep fills gaps so that no point is farther than ``max(0.9 r, 0.5 s)`` from a lane
    (:func:`patrol.plan.sweep.sweep_lanes`); that stays under the radius up to 1.98 radii
    (``benchmarks/bench_sweep.py --spacing`` measures coverage at this limit on every shape class).

    >>> round(max_spacing_m(30.0), 1)
    59.4
    """
    return MAX_SPACING_RADII * radius_m


def check_spacing(spacing_m: float, radius_m: float) -> None:
    """Refuse, naming the widest that works, a spacing that would leave points out of range."""
    if spacing_m <= 0:
        raise PlanningError(_("--spacing-m {spacing_m} must be positive").format(spacing_m=f"{spacing_m:g}"))
    if spacing_m > max_spacing_m(radius_m):
        raise PlanningError(
            _(
                "--spacing-m {spacing_m} leaves strips out of range (audible radius {radius_m} m); "
                "the widest spacing that keeps every point in range is {widest_m} m"
            ).format(
                spacing_m=f"{spacing_m:g}",
                radius_m=f"{radius_m:.1f}",
                widest_m=f"{math.floor(max_spacing_m(radius_m) * 10) / 10:g}",
            )
        )


def choose_spacing_speed(
    radius_m: float,
    prompt_s: float,
    vehicle: Vehicle,
    spacing_m: float | None = None,
    speed_mps: float | None = None,
) -> tuple[float, float, str]:
    """Pick lane spacing and speed that sweep area fastest while every point hears a whole prompt.

    Returns ``(spacing_m, speed_mps, limited_by)``. Overrides are honoured; an override that makes
    the rule impossible raises :class:`PlanningError` with the value to change.

    Examples
    --------
    >>> s, v, why = choose_spacing_speed(30.0, 6.0, Vehicle(max_speed_mps=10.0))
    >>> round(s, 2), round(v, 2), why
    (42.43, 7.07, 'area rate optimum')
    """
    r, p = radius_m, prompt_s
    vmax, vmin = vehicle.max_speed_mps, vehicle.min_speed_mps
    if p <= 0:
        raise PlanningError(_("prompt length {prompt_s} s must be positive").format(prompt_s=p))
    if spacing_m is not None:
        check_spacing(spacing_m, r)
    if spacing_m is not None and speed_mps is not None:
        return spacing_m, speed_mps, "override"
    if speed_mps is not None:
        half_chord = p * speed_mps / 2.0
        if half_chord >= r:
            raise PlanningError(
                _(
                    "at --speed-mps {speed_mps} a {prompt_s} s prompt cannot be heard whole within {radius_m} m; "
                    "fly slower than {slower_mps} m/s"
                ).format(
                    speed_mps=f"{speed_mps:g}", prompt_s=f"{p:.1f}", radius_m=f"{r:.1f}", slower_mps=f"{2 * r / p:.1f}"
                )
            )
        return 2.0 * math.sqrt(r * r - half_chord * half_chord), speed_mps, "speed override"
    if spacing_m is not None:
        v = 2.0 * math.sqrt(r * r - (spacing_m / 2) ** 2) / p
        if v < vmin:
            raise PlanningError(
                _(
                    "--spacing-m {spacing_m} needs {speed_mps} m/s, below the vehicle minimum {min_mps} m/s; "
                    "use narrower lanes"
                ).format(spacing_m=f"{spacing_m:g}", speed_mps=f"{v:.2f}", min_mps=f"{vmin:g}")
            )
        return spacing_m, min(v, vmax), "spacing override"
    v_opt = r * math.sqrt(2.0) / p
    if v_opt <= vmax:
        if v_opt < vmin:
            s = 2.0 * math.sqrt(max(r * r - (p * vmin / 2.0) ** 2, 0.0))
            if s <= 0:
                raise PlanningError(
                    _(
                        "a {prompt_s} s prompt cannot be heard whole within {radius_m} m even at {min_mps} m/s; "
                        "shorten the prompt, fly lower or use a louder speaker"
                    ).format(prompt_s=f"{p:.1f}", radius_m=f"{r:.1f}", min_mps=f"{vmin:g}")
                )
            return s, vmin, "vehicle minimum speed"
        return r * math.sqrt(2.0), v_opt, "area rate optimum"
    half_chord = p * vmax / 2.0
    return 2.0 * math.sqrt(r * r - half_chord * half_chord), vmax, "vehicle maximum speed"


def lane_overrun_m(radius_m: float, spacing_m: float, speed_mps: float, prompt_s: float) -> float:
    """How far each lane must run on past the compound edge so edge points hear a whole prompt.

    A point on the edge where a lane ends, half a spacing from it, is in range only while the
    vehicle is within ``c = sqrt(r^2 - (s/2)^2)`` of the lane end along the lane: ``c`` before the
    edge and, if the lane runs on ``e`` metres past it, ``min(e, c)`` after. ``c + e >= v * P``
    gives ``e = v * P - c`` (equal to ``c`` at the area-rate optimum). Zero when the lanes are so
    close or slow that the half chord already suffices.

    >>> round(lane_overrun_m(30.0, 42.43, 7.07, 6.0), 1)
    21.2
    >>> lane_overrun_m(30.0, 20.0, 2.0, 6.0)
    0.0
    """
    c = math.sqrt(max(radius_m * radius_m - (spacing_m / 2.0) ** 2, 0.0))
    return max(0.0, min(speed_mps * prompt_s - c, c))


def audibility(speaker: Speaker, vehicle: Vehicle, params: PatrolParams) -> Audibility:
    """The acoustic decision for a whole plan: slant range, radius, spacing, speed and why."""
    if params.radius_m is not None:
        if params.radius_m <= 0:
            raise PlanningError(_("--radius-m {radius_m} must be positive").format(radius_m=f"{params.radius_m:g}"))
        r = params.radius_m
        h = max(params.alt_m - speaker.listener_height_m, 0.0)
        slant = math.hypot(r, h)
    else:
        slant, r = audible_radius_m(speaker, params.alt_m)
    s, v, why = choose_spacing_speed(r, params.prompt_s, vehicle, params.spacing_m, params.speed_mps)
    if params.overrun_m is not None:
        if params.overrun_m < 0:
            raise PlanningError(
                _("--overrun-m {overrun_m} must be zero or positive").format(overrun_m=f"{params.overrun_m:g}")
            )
        overrun = params.overrun_m
    else:
        overrun = lane_overrun_m(r, s, v, params.prompt_s)
    return Audibility(slant, r, s, v, heard_s(r, s, v), why, overrun)
