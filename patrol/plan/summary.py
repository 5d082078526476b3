"""Plain-text summary of a plan for the terminal (the library never prints; the CLI does)."""

from __future__ import annotations

import unicodedata

from patrol.i18n import N_, _
from patrol.types import Plan

# What the spacing and speed were limited by, and the tiers, as the planner names them (translated when shown).
_REASONS = (
    N_("area rate optimum"),
    N_("vehicle maximum speed"),
    N_("vehicle minimum speed"),
    N_("spacing override"),
    N_("speed override"),
    N_("override"),
)
_TIERS = (N_("closed"), N_("guarded"), N_("scattered"))


def _width(text: str) -> int:
    """Terminal columns ``text`` takes: CJK characters are two columns wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, cols: int) -> str:
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > cols:
            break
        out, used = out + ch, used + w
    return out


def _pad(text: str, cols: int, right: bool) -> str:
    fill = " " * max(cols - _width(text), 0)
    return fill + text if right else text + fill


def text_table(headers: list[str], rows: list[list[str]], right: range | None = None) -> str:
    """A plain-text table whose columns line up with CJK text (two columns a character); numbers right-aligned
    (the columns ``right``, else every cell that starts with a digit)."""
    widths = [max(_width(h), *(_width(r[i]) for r in rows)) if rows else _width(h) for i, h in enumerate(headers)]
    line = "  ".join(
        _pad(h, w, right is not None and i in right) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    for r in rows:
        cells = (
            _pad(c, w, i in right if right is not None else c[:1].isdigit())
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def summary_table(plan: Plan) -> str:
    """The audibility decision, one row per compound in patrol order, one row per sortie."""
    a = plan.audibility
    head = _(
        "audible radius {radius} m (slant {slant} m at {alt} m), lanes {spacing} m apart at {speed} m/s ({why}); "
        "worst point hears {heard} s of the {need} s a warning needs"
    ).format(
        radius=f"{a.radius_m:.1f}",
        slant=f"{a.slant_range_m:.1f}",
        alt=f"{plan.params.alt_m:g}",
        spacing=f"{a.spacing_m:.1f}",
        speed=f"{a.speed_mps:.1f}",
        why=_(a.limited_by),
        heard=f"{a.worst_heard_s:.1f}",
        need=f"{plan.params.prompt_s:.1f}",
    )
    if plan.vehicle.wind_mps > 0:
        head += "\n" + _(
            "wind {wind_mps} m/s charged as a headwind on every leg: "
            "sortie times are that bound, so each keeps its reserve whatever the wind's direction"
        ).format(wind_mps=f"{plan.vehicle.wind_mps:g}")
    rows = [
        [
            str(s["order"]),
            s["id"],
            _clip(s["name"], 30),
            _(s["tier"]),
            str(s["priority"]),
            f"{s['area_m2']:.0f}",
            str(s["lanes"]),
            f"{s['route_length_m']:.0f}",
            f"{100 * s['predicted_in_range_share']:.1f}",
            f"{100 * s['predicted_heard_whole_share']:.1f}",
            f"{s.get('predicted_shadowed_m2', 0.0):.0f}",
            f"{s.get('predicted_unreachable_m2', 0.0):.0f}",
            str(s.get("shadow_loiters", 0)),
            f"{s.get('alt_m', plan.params.alt_m):.0f}",
            f"{s.get('radius_m', a.radius_m):.0f}",
            f"{s['predicted_time_s'] / 60:.1f}",
            ",".join(str(x) for x in s["sorties"]),
        ]
        for s in plan.compound_stats
    ]
    comp = text_table(
        [
            "#",
            _("id"),
            _("name"),
            _("tier"),
            _("prio"),
            _("area_m2"),
            _("lanes"),
            _("route_m"),
            _("in_range%"),
            _("heard_whole%"),
            _("shadow_m2"),
            _("unreach_m2"),
            _("loiters"),
            _("alt_m"),
            _("r_m"),
            _("min"),
            _("sortie"),
        ],
        rows,
    )
    srows = [
        [
            str(s.index),
            str(len(plan.missions[s.index - 1])),
            f"{s.length_m:.0f}",
            f"{s.predicted_time_s / 60:.1f}",
            f"{plan.vehicle.usable_s / 60:.1f}",
            str(len(s.fence.exclusions)),
            str(len(s.rally)),
            " ".join(s.compound_ids),
        ]
        for s in plan.sorties
    ]
    heads = [_("sortie"), _("items"), _("length_m"), _("min"), _("usable_min"), _("excl"), _("rally"), _("compounds")]
    sort = text_table(heads, srows)
    return f"{head}\n\n{comp}\n\n{sort}" + (f"\n\n{fleet_table(plan)}" if plan.fleet is not None else "")


# compounds.csv: one row per compound in patrol order, the manifest's figures under their own names
SUMMARY_COLUMNS = (
    "order",
    "id",
    "name",
    "tier",
    "priority",
    "area_m2",
    "open_ground_m2",
    "lanes",
    "route_length_m",
    "predicted_in_range_share",
    "predicted_heard_whole_share",
    "predicted_heard_whole_share_whole_area",
    "predicted_shadowed_m2",
    "predicted_unreachable_m2",
    "shadow_loiters",
    "alt_m",
    "radius_m",
    "predicted_time_s",
    "sorties",
)


def summary_csv(plan: Plan) -> str:
    """``compounds.csv``: the summary table's compounds as the manifest names their figures (shares 0..1,
    areas in m², times in s; sorties space-separated), for a spreadsheet."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUMMARY_COLUMNS)
    for s in plan.compound_stats:
        row = {**s, "sorties": " ".join(str(x) for x in s["sorties"])}
        w.writerow([row.get(k, "") for k in SUMMARY_COLUMNS])
    return buf.getvalue()


def fleet_table(plan: Plan) -> str:
    """The fleet schedule: one row per slot in start order, then makespan beside the ideal and the separation."""
    from patrol.plan.fleet import clock

    f = plan.fleet
    assert f is not None
    t0 = f.params.start_clock_s
    rows = [
        [sl.vehicle, str(sl.sortie), clock(sl.start_s, t0), clock(sl.end_s, t0), f"{sl.transit_alt_m:.0f}"]
        for sl in f.slots
    ]
    table = text_table([_("vehicle"), _("sortie"), _("start"), _("end"), _("transit_alt_m")], rows)
    least = f.min_separation_m
    sep = _("never within a layer") if least is None else _("{n} m").format(n=f"{least:.0f}")
    tail = _(
        "fleet of {n}: whole district heard by {by} (makespan {makespan_min} min, ideal {ideal_min} min); least "
        "horizontal distance of two vehicles within {layer_m} m vertically {least} (separation {separation_m} m)"
    ).format(
        n=len(f.vehicles),
        by=clock(f.makespan_s, t0),
        makespan_min=f"{f.makespan_s / 60:.1f}",
        ideal_min=f"{f.ideal_s / 60:.1f}",
        layer_m=f"{f.params.layer_m:g}",
        least=sep,
        separation_m=f"{f.params.separation_m:g}",
    )
    return f"{table}\n{tail}"
