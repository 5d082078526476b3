"""Plain-text summary of a plan for the terminal (the library never prints; the CLI does)."""

from __future__ import annotations

import unicodedata

from patrol.types import Plan


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


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(h), *(_width(r[i]) for r in rows)) if rows else _width(h) for i, h in enumerate(headers)]
    line = "  ".join(_pad(h, w, False) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    for r in rows:
        cells = (_pad(c, w, c[:1].isdigit()) for c, w in zip(r, widths, strict=True))
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def summary_table(plan: Plan) -> str:
    """The audibility decision, one row per compound in patrol order, one row per sortie."""
    a = plan.audibility
    head = (
        f"audible radius {a.radius_m:.1f} m (slant {a.slant_range_m:.1f} m at {plan.params.alt_m:g} m), "
        f"lanes {a.spacing_m:.1f} m apart at {a.speed_mps:.1f} m/s ({a.limited_by}); "
        f"worst point hears {a.worst_heard_s:.1f} s of the {plan.params.prompt_s:.1f} s a warning needs"
    )
    if plan.vehicle.wind_mps > 0:
        head += (
            f"\nwind {plan.vehicle.wind_mps:g} m/s charged as a headwind on every leg: "
            "sortie times are that bound, so each keeps its reserve whatever the wind's direction"
        )
    rows = [
        [
            str(s["order"]),
            s["id"],
            _clip(s["name"], 30),
            s["tier"],
            str(s["priority"]),
            f"{s['area_m2']:.0f}",
            str(s["lanes"]),
            f"{s['route_length_m']:.0f}",
            f"{100 * s['predicted_in_range_share']:.1f}",
            f"{100 * s['predicted_heard_whole_share']:.1f}",
            f"{s.get('alt_m', plan.params.alt_m):.0f}",
            f"{s.get('radius_m', a.radius_m):.0f}",
            f"{s['predicted_time_s'] / 60:.1f}",
            ",".join(str(x) for x in s["sorties"]),
        ]
        for s in plan.compound_stats
    ]
    comp = _table(
        [
            "#",
            "id",
            "name",
            "tier",
            "prio",
            "area_m2",
            "lanes",
            "route_m",
            "in_range%",
            "heard_whole%",
            "alt_m",
            "r_m",
            "min",
            "sortie",
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
    sort = _table(["sortie", "items", "length_m", "min", "usable_min", "excl", "rally", "compounds"], srows)
    return f"{head}\n\n{comp}\n\n{sort}"
