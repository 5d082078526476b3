"""The pre-flight safety report: what each sortie of a package will really fly, against every limit.

It reads what would be uploaded (the ``.plan`` files), not the planner's internals, so a hand-edited
or stale package is checked as it is. Per sortie: the highest altitude, the smallest vertical clearance
over any roof on any leg (take-off, every waypoint, the return to launch at ``RTL_ALT``), the smallest
distance to a no-fly zone, the smallest margin to the inclusion fence, and the predicted flight time
against the usable endurance.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from dataclasses import fields as dataclasses_fields
from pathlib import Path
from typing import Any

import shapely
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, Point, Polygon, shape

from patrol.errors import InputError
from patrol.i18n import N_, _
from patrol.package.reader import fence_polygons, read_package
from patrol.plan.airspace import Skyline, worst_clearance
from patrol.plan.mission import nav_items
from patrol.plan.summary import text_table


@dataclass
class SortieCheck:
    """One sortie's figures and the limits they break (``violations`` empty: safe to upload)."""

    index: int
    max_alt_m: float
    min_clearance_m: float | None  # None: no building under any leg
    clearance_roof_m: float | None
    min_nofly_m: float | None  # None: no no-fly zone
    min_fence_margin_m: float
    predicted_time_s: float | None
    usable_s: float | None
    rtl_alt_m: float
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_package(package: str | Path, sorties: list[int] | None = None) -> list[SortieCheck]:
    """Check every sortie (or those listed) of a package; see the module docstring for what is measured."""
    pkg = read_package(package)
    man = pkg.manifest
    params = pkg.params
    frame = pkg.frame
    sky = Skyline(pkg.buildings(frame), float(params.get("lateral_clearance_m", 10.0)))
    nofly = [frame.geom_to_local(shape(f["geometry"])) for f in pkg.layer("nofly")]
    max_alt = float(params["max_alt_m"])
    clearance = float(params.get("clearance_m", 15.0))
    buffer_m = float(params["nofly_buffer_m"])
    flown_by = fleet_vehicles(man)
    out = []
    for s in man["sorties"]:
        if sorties and s["index"] not in sorties:
            continue
        up = pkg.sortie(s["index"])
        hx, hy = (float(v) for v in frame.to_local(up.home_lon, up.home_lat))
        unit = flown_by.get(s["index"])
        pts: list[tuple[float, float, float]] = [(hx, hy, 0.0)]
        for it in nav_items(up.mission):
            x, y = (float(v) for v in frame.to_local(it.lon, it.lat))
            if it.command == mav.MAV_CMD_NAV_TAKEOFF:
                x, y = hx, hy  # ArduCopter climbs straight up
            pts.append((x, y, float(it.alt_m)))
        rtl_alt = float(s.get("safe_alt_m", params.get("transit_alt_m") or params["alt_m"]))
        last = pts[-1]
        home_alt = max(last[2], rtl_alt)  # RTL climbs to RTL_ALT first if lower, then flies home
        pts += [(last[0], last[1], home_alt), (hx, hy, home_alt), (hx, hy, 0.0)]
        v: list[str] = []
        notes: list[str] = []
        top = max(p[2] for p in pts)
        if top > max_alt + 1e-6:
            v.append(
                _("altitude {top} m above the {ceiling} m ceiling").format(top=f"{top:.1f}", ceiling=f"{max_alt:g}")
            )
        worst = worst_clearance(pts, sky)
        if worst.leg >= 0 and worst.clearance_m < clearance - 0.5:
            v.append(
                _("leg {leg} passes {over} m over a {roof} m roof (needs {need} m)").format(
                    leg=worst.leg, over=f"{worst.clearance_m:.1f}", roof=f"{worst.roof_m:.0f}", need=f"{clearance:g}"
                )
            )
        legs = [LineString([a[:2], b[:2]]) if a[:2] != b[:2] else Point(a[:2]) for a, b in itertools.pairwise(pts)]
        dmin = None
        if nofly:
            zones = shapely.union_all(nofly)
            dmin = min(float(zones.distance(g)) for g in legs)
            if dmin < buffer_m - 1.0:
                v.append(
                    _("comes {d} m from a no-fly zone (keep {keep} m)").format(d=f"{dmin:.0f}", keep=f"{buffer_m:g}")
                )
        polys = fence_polygons(up.fence)
        incl = [Polygon([frame.to_local(lon, lat) for lat, lon in r]) for inc, r in polys if inc]
        excl = [Polygon([frame.to_local(lon, lat) for lat, lon in r]) for inc, r in polys if not inc]
        if not incl:
            v.append(_("no inclusion fence"))
            margin = -math.inf
        else:
            fence = shapely.union_all(incl)
            margin = min(
                (float(fence.exterior.distance(g)) if fence.covers(g) else -float(g.distance(fence.exterior)))
                if isinstance(fence, Polygon)
                else 0.0
                for g in legs
            )
            if margin < 0:
                v.append(_("leaves its inclusion fence by {d} m").format(d=f"{-margin:.0f}"))
            if any(z.intersects(g) for z in excl for g in legs):
                v.append(_("crosses an exclusion fence"))
            covered = [z for z in nofly if fence.intersection(z).area > 1.0]
            if covered:
                notes.append(
                    _(
                        "the route surrounds {n} no-fly zone(s): no single inclusion polygon can leave it out; "
                        "its exclusion polygon keeps the vehicle out"
                    ).format(n=len(covered))
                )
        for b in sky.near(Point(hx, hy), float(params.get("home_clearance_m", 10.0))):
            near = f"{params.get('home_clearance_m', 10.0):g}"
            v.append(_("home is within {d} m of building {id}").format(d=near, id=sky.buildings[b].id))
        if nofly and any(z.contains(Point(hx, hy)) for z in nofly):
            v.append(_("home is inside a no-fly zone"))
        t, usable = s.get("predicted_time_s"), s.get("usable_endurance_s")
        if unit is not None and "usable_endurance_s" in unit:  # the battery of the vehicle the schedule names
            usable = min(float(unit["usable_endurance_s"]), usable if usable is not None else math.inf)
            lx, ly = (float(v) for v in frame.to_local(unit["launch"]["lon"], unit["launch"]["lat"]))
            if math.hypot(hx - lx, hy - ly) > 1.0:
                v.append(
                    _("home is {d} m from the launch point of {vehicle}, which flies it").format(
                        d=f"{math.hypot(hx - lx, hy - ly):.0f}", vehicle=unit["id"]
                    )
                )
        if t is not None and usable is not None and t > usable + 1e-6:
            v.append(
                _("predicted {t} min exceeds the usable {usable} min").format(
                    t=f"{t / 60:.1f}", usable=f"{usable / 60:.1f}"
                )
            )
        out.append(
            SortieCheck(
                s["index"],
                top,
                None if worst.leg < 0 else worst.clearance_m,
                None if worst.leg < 0 else worst.roof_m,
                dmin,
                margin,
                t,
                usable,
                rtl_alt,
                v,
                notes,
            )
        )
    conflict, _least = fleet_check(package)
    if conflict is not None:
        for c in out:
            if f"(sortie {c.index})" in conflict:
                c.violations.append(conflict)
    if sorties:
        missing = set(sorties) - {c.index for c in out}
        if missing:
            raise InputError(_("{pkg}: no sortie {items}").format(pkg=pkg, items=", ".join(map(str, sorted(missing)))))
    return out


def fleet_vehicles(manifest: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Sortie -> the manifest's fleet vehicle that flies it (its launch point, battery, speeds); empty for a
    package of one vehicle."""
    fleet = manifest.get("fleet") or {}
    by_id = {v["id"]: v for v in fleet.get("vehicles", [])}
    return {int(sl["sortie"]): by_id[sl["vehicle"]] for sl in fleet.get("slots", []) if sl["vehicle"] in by_id}


def fleet_check(package: str | Path) -> tuple[str | None, float | None]:
    """The fleet schedule of a package checked from what would be uploaded: each slot's ``.plan`` flown with the
    planner's time model (:func:`patrol.plan.playback.planned_track`) from its start, the tracks compared pairwise
    (:func:`patrol.plan.fleet.first_conflict`). Returns the first conflict as a line (None: separation kept) and
    the least horizontal distance of two vehicles not layered apart (None: no fleet, or never that close)."""
    from types import SimpleNamespace

    from patrol.plan.fleet import Track, clock, first_conflict, rel_track
    from patrol.types import Step, StepKind, Vehicle

    pkg = read_package(package)
    fleet = pkg.manifest.get("fleet")
    if not fleet:
        return None, None
    frame = pkg.frame
    known = {f.name for f in dataclasses_fields(Vehicle)}
    base = {k: v for k, v in pkg.manifest["parameters"]["vehicle"].items() if k in known}
    names = [v["id"] for v in fleet["vehicles"]]
    airframes = [Vehicle(**{**base, **{k: x for k, x in v.items() if k in known}}) for v in fleet["vehicles"]]
    tracks = []
    for sl in fleet["slots"]:
        vehicle = airframes[names.index(sl["vehicle"])]
        up = pkg.sortie(int(sl["sortie"]))
        home = tuple(float(v) for v in frame.to_local(up.home_lon, up.home_lat))
        speed, steps = vehicle.transit_speed_mps, []
        for it in up.mission:
            if it.command == mav.MAV_CMD_DO_CHANGE_SPEED and it.param2 > 0:
                speed = float(it.param2)
            elif it.command in (mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_LOITER_TIME):
                x, y = (float(v) for v in frame.to_local(it.lon, it.lat))
                loiter = float(it.param1) if it.command == mav.MAV_CMD_NAV_LOITER_TIME else 0.0
                steps.append(Step(StepKind.LANE, x, y, float(it.alt_m), loiter_s=loiter, speed_mps=speed))
        rel = rel_track(SimpleNamespace(steps=steps), home, speed, vehicle, float(fleet.get("step_s", 1.0)))  # type: ignore[arg-type]
        tracks.append(
            Track(int(sl["sortie"]), names.index(sl["vehicle"]), rel[:, 0] + float(sl["start_s"]), rel[:, 1:])
        )
    busy = _double_booked(tracks, names, float(fleet.get("swap_s", 0.0)))
    if busy is not None:
        return busy, None
    c, least = first_conflict(tracks, float(fleet["separation_m"]), float(fleet["layer_m"]))
    if c is None:
        return None, None if math.isinf(least) else least
    lon, lat = frame.to_wgs84(c.x_m, c.y_m)
    start = fleet.get("start")
    t0 = None if not start else int(start[:2]) * 3600 + int(start[3:5]) * 60
    line = _(
        "vehicles {a} (sortie {sa}) and {b} (sortie {sb}) come {d} m apart at {t} near {lat},{lon} (separation {sep} m)"
    ).format(
        a=names[c.a.vehicle],
        sa=c.a.sortie,
        b=names[c.b.vehicle],
        sb=c.b.sortie,
        d=f"{c.horizontal_m:.0f}",
        t=clock(c.t_s, t0),
        lat=f"{float(lat):.6f}",
        lon=f"{float(lon):.6f}",
        sep=f"{fleet['separation_m']:g}",
    )
    return line, c.horizontal_m


SLACK_S = 10.0  # the check's time model rebuilt from the .plan files may end a sortie a few seconds off the planner's


def _double_booked(tracks: list, names: list[str], swap_s: float) -> str | None:
    """A vehicle given a sortie before its previous one has landed and its battery been swapped, as a line naming
    both sorties (None: every vehicle flies one sortie at a time). ``tracks``: :class:`patrol.plan.fleet.Track`."""
    by_vehicle: dict[int, list] = {}
    for tr in tracks:
        by_vehicle.setdefault(tr.vehicle, []).append(tr)
    for v, own in by_vehicle.items():
        own.sort(key=lambda tr: float(tr.t_s[0]))
        for a, b in itertools.pairwise(own):
            free_s = float(a.t_s[-1]) + swap_s
            if float(b.t_s[0]) < free_s - SLACK_S:
                return _(
                    "vehicle {v}: sortie {b} starts at +{tb} min, before sortie {a} has landed and its battery been "
                    "swapped (+{free} min); one vehicle flies one sortie at a time: re-plan the schedule"
                ).format(
                    v=names[v], a=a.sortie, b=b.sortie, tb=f"{float(b.t_s[0]) / 60:.1f}", free=f"{free_s / 60:.1f}"
                )
    return None


def report_text(checks: list[SortieCheck]) -> str:
    """The pre-flight table, one row per sortie, then every violation on its own line (in the interface language)."""

    def f(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    heads = [N_("sortie"), N_("max_alt_m"), N_("min_clearance_m"), N_("(roof_m)"), N_("min_nofly_m")]
    heads += [N_("fence_margin_m"), N_("time_min"), N_("usable_min"), N_("rtl_alt_m"), ""]
    rows = [
        [
            str(c.index),
            f"{c.max_alt_m:.1f}",
            f(c.min_clearance_m, ".1f"),
            f(c.clearance_roof_m, ".0f"),
            f(c.min_nofly_m, ".0f"),
            f"{c.min_fence_margin_m:.1f}",
            f(None if c.predicted_time_s is None else c.predicted_time_s / 60, ".1f"),
            f(None if c.usable_s is None else c.usable_s / 60, ".1f"),
            f"{c.rtl_alt_m:.0f}",
            _("FAIL") if c.violations else _("ok"),
        ]
        for c in checks
    ]
    lines = [text_table([_(h) if h else h for h in heads], rows, right=range(9))]
    for c in checks:
        lines += [_("sortie {n}: {msg}").format(n=c.index, msg=msg) for msg in c.violations]
        lines += [_("sortie {n} (note): {msg}").format(n=c.index, msg=msg) for msg in c.notes]
    return "\n".join(lines)


def preflight(package: str | Path, sortie: int, force: str | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The pre-flight gate of ``upload`` and ``fly`` for one sortie of a package folder.

    A sortie that passes returns None. One that fails raises :class:`SafetyError` naming its first
    violation, unless ``force`` gives a reason: then the override (time, sortie, violations, reason)
    is appended to ``PACKAGE/flights/overrides.jsonl`` and ``(that path, the override)`` is returned. A bare
    ``.plan`` (no manifest beside it) has no package check; upload's own fence and altitude checks still apply.
    """
    import datetime as dt

    from patrol.errors import SafetyError

    pkg = Path(package)
    pkg = pkg if pkg.is_dir() else pkg.parent
    if not (pkg / "manifest.json").exists():
        return None
    (c,) = check_package(pkg, [sortie])
    if not c.violations:
        return None
    if not force:
        raise SafetyError(
            _("sortie {sortie} fails the pre-flight check: {violations}; see `patrol check`").format(
                sortie=sortie, violations=c.violations[0]
            )
        )
    log = pkg / "flights" / "overrides.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "time_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sortie": sortie,
        "violations": c.violations,
        "reason": force,
    }
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return log, entry
