"""``patrol map --ledger``: the district coloured by the time since each compound last heard a whole warning, with
a day slider (the end of each of the last ``days`` days, the last one being now), as one offline page.

The compounds and their shapes come from the ledger (as last planned) or from ``--district FILE``. Colours are
fixed bands of hours (:data:`BANDS`); a compound never heard is grey.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import offlinefolium as folium
from shapely.geometry import shape
from sqlalchemy import Connection, func, select

from patrol import i18n
from patrol.errors import InputError
from patrol.i18n import N_
from patrol.ledger import schema as s
from patrol.ledger.status import local_day
from patrol.review.map_parts import _fit, _legend, _new_map, _Script, _swatch
from patrol.review.pages import render

BANDS: tuple[tuple[float, str, str], ...] = (
    (12.0, "#1a9850", N_("heard within 12 h")),
    (24.0, "#91cf60", N_("12 to 24 h ago")),
    (48.0, "#fee08b", N_("1 to 2 days ago")),
    (96.0, "#fc8d59", N_("2 to 4 days ago")),
    (float("inf"), "#d73027", N_("more than 4 days ago")),
)
NEVER_COLOUR = "#9e9e9e"
NEVER_LABEL = N_("never heard")
LEGEND_TITLE = N_("Time since last heard")
SLIDER_NOTE = N_("the slider shows the end of each day")
# The tooltip's words (ledger_map.js.j2 gets them translated).
_JS_WORDS = (N_("never heard"), N_("{h} h ago"), N_("{d} days ago"))


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _as_dt(v: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(v) if isinstance(v, str) else v


def hours_since(
    conn: Connection, ends: list[dt.datetime], district: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[float | None]]]:
    """The compounds (code, name, tier, geometry: GeoJSON) and, per compound, the hours since it last heard a whole
    warning at each moment of ``ends`` (aware, ascending; None: never by then)."""
    c, h = s.compounds, s.hearings
    first = _naive_utc(ends[0]) - dt.timedelta(days=1)
    last = _naive_utc(ends[-1])
    if district is None:
        rows = conn.execute(select(c.c.id, c.c.code, c.c.name, c.c.tier, c.c.geometry).order_by(c.c.code)).all()
        comps = [
            {"code": r.code, "name": r.name, "tier": r.tier, "geometry": json.loads(r.geometry)}
            for r in rows
            if r.geometry
        ]
    else:
        comps = district
    ids = dict(conn.execute(select(c.c.code, c.c.id).where(c.c.code.in_([x["code"] for x in comps]))).all())
    before = dict(
        conn.execute(
            select(h.c.compound_id, func.max(h.c.heard_utc))
            .where(h.c.active.is_(True), h.c.heard_utc < first)
            .group_by(h.c.compound_id)
        ).all()
    )
    times: dict[int, list[dt.datetime]] = {}
    q = select(h.c.compound_id, h.c.heard_utc).where(
        h.c.active.is_(True), h.c.heard_utc >= first, h.c.heard_utc <= last
    )
    for cid, at in conn.execute(q.order_by(h.c.heard_utc)):
        times.setdefault(cid, []).append(_as_dt(at))
    out: dict[str, list[float | None]] = {}
    for comp in comps:
        cid = ids.get(comp["code"])
        seen = [_as_dt(before[cid])] if cid in before else []
        seen += times.get(cid, [])
        series: list[float | None] = []
        k = -1
        for end in ends:
            e = _naive_utc(end)
            while k + 1 < len(seen) and seen[k + 1] <= e:
                k += 1
            series.append(None if k < 0 else round((e - seen[k]).total_seconds() / 3600.0, 2))
        out[comp["code"]] = series
    return comps, out


def day_ends(as_of: dt.datetime, days: int) -> list[dt.datetime]:
    """The ends of the ``days`` local days up to ``as_of``'s, the last one being ``as_of`` itself."""
    if days < 1 or days > 366:
        raise InputError(i18n._("--days {days}: give 1 to 366 days for the slider").format(days=days))
    local = as_of.astimezone()
    out = []
    for k in range(days - 1, 0, -1):
        _, end = local_day(local.date() - dt.timedelta(days=k), local.tzinfo)
        out.append(end - dt.timedelta(microseconds=1))
    return [*out, local]


def ledger_map(conn: Connection, as_of: dt.datetime, days: int, district: list[dict] | None, tiles: str) -> str:
    """The page (see the module docstring); ``district`` as :func:`hours_since` takes it."""
    ends = day_ends(as_of, days)
    comps, hours = hours_since(conn, ends, district)
    if not comps:
        raise InputError(
            i18n._("the ledger knows no compound shapes yet (plan with the ledger on), or give --district FILE")
        )
    m = _new_map(tiles)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": x["code"], "name": x["name"], "tier": x["tier"]},
                "geometry": x["geometry"],
            }
            for x in comps
        ],
    }
    layer = folium.GeoJson(
        fc, name="compounds", style_function=lambda _f: {"color": "#333", "weight": 1, "fillOpacity": 0.65}
    )
    layer.add_to(m)
    pts = []
    for x in comps:
        minx, miny, maxx, maxy = shape(x["geometry"]).bounds
        pts += [(miny, minx), (maxy, maxx)]
    _fit(m, pts, bottom_right=(20, 120))
    labels = [i18n.day(e.date()) + (i18n._(" (now)") if k == len(ends) - 1 else "") for k, e in enumerate(ends)]
    panel = render("ledger_panel.html.j2", top=len(ends) - 1, label=labels[-1])
    m.get_root().html.add_child(folium.Element(panel), name="patrol-ledger")
    data = {"labels": labels, "hours": hours, "bands": [[b if b != float("inf") else 1e9, col] for b, col, _ in BANDS]}
    script = render(
        "ledger_map.js.j2",
        layer_name=layer.get_name(),
        data_json=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        never=NEVER_COLOUR,
        words={w: i18n._(w) for w in _JS_WORDS},
    )
    _Script(script).add_to(m)
    rows = [(_swatch(col, fill=True), i18n._(label)) for _, col, label in BANDS] + [
        (_swatch(NEVER_COLOUR, fill=True), i18n._(NEVER_LABEL))
    ]
    notes = [
        i18n._("{n} compounds; as of {when}").format(n=len(comps), when=i18n.stamp(as_of.astimezone())),
        i18n._(SLIDER_NOTE),
    ]
    _legend(m, i18n._(LEGEND_TITLE), notes, rows)
    return m.get_root().render()
