"""Maps: a mission package, or a flown log against it, as one self-contained HTML page.

Pages are built with ``offlinefolium`` (the PyPI package ``folium-offline``: folium's API with every
Leaflet and plugin script and stylesheet inlined), so a page opens with no network at all; the only
online resource a page may name is the tile layer, and ``tiles="none"`` drops that too. Only Leaflet's
own script and stylesheet and jQuery (folium's popups need it) are kept from folium's defaults (no Bootstrap
or icon fonts: markers here are circles and plain HTML labels), which keeps a page at about half a MB.

Everything geometric (the audible swath, how closely a flight followed a planned sortie) is computed in a
local metric frame (:class:`patrol.geo.LocalFrame`); the page itself is WGS84.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import offlinefolium as folium
import shapely
from offlinefolium import plugins
from offlinefolium.template import Template
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.ops import substring, unary_union

from patrol.atomic import write_text
from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.package.reader import Package, read_package
from patrol.review.flightlog import FlightLog, read_log
from patrol.speech.catalogue import DEFAULT_CATALOGUE, Build, Catalogue, read_catalogue

TILES_HELP = "give none, osm or a tile URL template such as https://tile.example.org/{z}/{x}/{y}.png"
TIER_COLOURS = {"closed": "#c0392b", "guarded": "#e67e22", "scattered": "#d4ac0d"}
SORTIE_COLOURS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#31a354",
)
CUE_COLOURS = {"enter": "#27ae60", "hotspot": "#f39c12", "leave": "#7f8c8d"}
PLAY_COLOURS = {"loop": "#27ae60", "play": "#f39c12", "stop": "#7f8c8d"}
NOFLY_COLOUR = "#e74c3c"
FENCE_COLOUR = "#34495e"
EXCLUSION_COLOUR = "#8e44ad"
RALLY_COLOUR = "#6c3483"
SWATH_COLOUR = "#5dade2"
PLANNED_COLOUR = "#2471a3"
SWATH_SIMPLIFY_M = 1.0  # tolerance of the swath outline; keeps the page light
TRACK_POINTS = 3000  # at most this many positions per flown track on the map
PROFILE_POINTS = 800  # and this many in the altitude profile
FOLLOWED = 0.5  # a flight follows a planned sortie when both shares of follow_shares reach this

_CSS = """
<style>
.leaflet-container { font: 13px/1.35 system-ui, sans-serif; }
.patrol-box { position: fixed; z-index: 1000; background: rgba(255,255,255,.94); border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); padding: 6px 10px; font: 12px/1.35 system-ui, sans-serif; }
#patrol-legend { left: 10px; bottom: 36px; max-width: 330px; max-height: 60vh; overflow: auto; }
.leaflet-control-layers-expanded { max-height: 45vh; max-width: 300px; overflow: auto; font-size: 12px; }
#patrol-legend summary { font-weight: 600; cursor: pointer; }
#patrol-legend .row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
#patrol-legend .sw { display: inline-block; width: 22px; height: 12px; flex: none; }
#patrol-legend .note { color: #555; margin: 3px 0; }
.patrol-event { width: auto !important; height: auto !important; }
.patrol-label { display: inline-block; background: rgba(255,255,255,.9); border: 1px solid #555; border-radius: 3px;
  padding: 0 3px; font: 11px/14px system-ui, sans-serif; white-space: nowrap; }
.patrol-home-icon { background: #111; color: #fff; border: 2px solid #fff; border-radius: 50%; width: 18px;
  height: 18px; font: bold 12px/18px system-ui, sans-serif; text-align: center; box-shadow: 0 0 3px #000; }
.patrol-breach-icon { background: #e74c3c; color: #fff; border: 2px solid #fff; border-radius: 50%; width: 18px;
  height: 18px; font: bold 13px/18px system-ui, sans-serif; text-align: center; box-shadow: 0 0 3px #000; }
.patrol-popup td { padding: 0 6px 0 0; vertical-align: top; }
.patrol-popup .prompt { margin: 3px 0; }
.patrol-popup .alt { color: #555; }
#patrol-replay { right: 10px; bottom: 24px; width: 560px; max-width: calc(100vw - 40px); }
#patrol-replay .ctl { display: flex; align-items: center; gap: 8px; }
#patrol-replay input[type=range] { flex: 1; }
#patrol-replay button { width: 34px; }
#patrol-readout { margin: 3px 0; min-height: 15px; font-variant-numeric: tabular-nums; }
#patrol-altitude { display: block; width: 100%; height: auto; cursor: crosshair; }
</style>
"""
_NONE_BACKGROUND = "<style>.leaflet-container { background: #eef0ea; }</style>"


# ----------------------------------------------------------------------------------------------- public API


def plan_map(package: Path, tiles: str = "osm") -> str:
    """A complete, self-contained HTML page mapping the mission package in folder ``package``.

    Shows compounds coloured by tier (popups: name, id, tier, priority, area, lanes, predicted coverage and
    heard-whole shares, predicted time, the prompts that play there with their text), each sortie as its own
    layer (route with direction arrows and its cue points, whose popups give the prompt text), the audible
    swath (the route while the speaker is on, buffered by ``audibility.radius_m``), hotspots, no-fly zones,
    inclusion fences (dashed), exclusion fences, rally points and home, with a legend, a layer control and a
    scale. ``tiles`` is ``"none"``, ``"osm"`` or a URL template; the page needs no network unless tiles do.

    Raises :class:`InputError` (one line naming the file and the fix) for a missing or unreadable
    ``route.geojson`` or ``manifest.json`` and for an unknown ``tiles`` value.
    """
    tiles = _check_tiles(tiles)
    pkg = _load_package(Path(package))
    m = _new_map(tiles)
    bounds: list[tuple[float, float]] = []

    compounds = folium.FeatureGroup(name="Compounds (by tier)")
    for f in pkg.layer("compound"):
        p = f["properties"]
        tier = str(p.get("tier", ""))
        colour = TIER_COLOURS.get(tier, "#555555")
        _add_polygons(
            compounds,
            f["geometry"],
            color=colour,
            weight=2,
            fill_color=colour,
            fill_opacity=0.25,
            class_name=f"patrol-compound tier-{tier}",
            popup=_compound_popup(pkg, p),
            popup_width=420,
            tooltip=html.escape(f"{p.get('name', p.get('id', ''))} ({tier})"),
        )
        bounds.extend(_bounds_points(f["geometry"]))
    compounds.add_to(m)

    swath = pkg.swath()
    if swath is not None:
        group = folium.FeatureGroup(name=f"Audible swath (r = {pkg.radius_m:.0f} m)")
        for locs in _shapely_polygons(swath):
            folium.Polygon(
                locs,
                color=SWATH_COLOUR,
                weight=1,
                opacity=0.6,
                fill_color=SWATH_COLOUR,
                fill_opacity=0.25,
                class_name="patrol-swath",
                interactive=False,
            ).add_to(group)
        group.add_to(m)

    nofly = folium.FeatureGroup(name="No-fly zones")
    for f in pkg.layer("nofly"):
        p = f["properties"]
        _add_polygons(
            nofly,
            f["geometry"],
            color=NOFLY_COLOUR,
            weight=2,
            fill_color=NOFLY_COLOUR,
            fill_opacity=0.4,
            class_name="patrol-nofly",
            popup=_table("No-fly zone", [("id", p.get("id")), ("name", p.get("name"))]),
        )
        bounds.extend(_bounds_points(f["geometry"]))
    nofly.add_to(m)

    inclusion = folium.FeatureGroup(name="Inclusion fences (dashed)")
    for f in pkg.layer("fence_inclusion"):
        p = f["properties"]
        _add_polygons(
            inclusion,
            f["geometry"],
            color=FENCE_COLOUR,
            weight=1.5,
            dash_array="6 5",
            fill=False,
            class_name="patrol-fence-inclusion",
            popup=_table("Inclusion fence", [("sortie", p.get("sortie")), ("max altitude", _m(p.get("max_alt_m")))]),
            popup_width=300,
        )
        bounds.extend(_bounds_points(f["geometry"]))
    inclusion.add_to(m)

    exclusion = folium.FeatureGroup(name="Exclusion fences")
    for f in pkg.layer("fence_exclusion"):
        _add_polygons(
            exclusion,
            f["geometry"],
            color=EXCLUSION_COLOUR,
            weight=2,
            fill_color=EXCLUSION_COLOUR,
            fill_opacity=0.15,
            class_name="patrol-fence-exclusion",
            popup=_table("Exclusion fence", [("sortie", f["properties"].get("sortie"))]),
        )
    exclusion.add_to(m)

    for n, f in enumerate(pkg.layer("route")):
        p = f["properties"]
        sortie = p.get("sortie", n + 1)
        colour = SORTIE_COLOURS[(int(sortie) - 1) % len(SORTIE_COLOURS)] if isinstance(sortie, int) else "#1f77b4"
        group = folium.FeatureGroup(name=_sortie_label(pkg, p))
        line = folium.PolyLine(
            _line_locations(f["geometry"]),
            color=colour,
            weight=3,
            opacity=0.9,
            class_name="patrol-route",
            popup=folium.Popup(_route_popup(pkg, p), max_width=360),
        ).add_to(group)
        plugins.PolyLineTextPath(
            line, "     ►     ", repeat=True, offset=5, attributes={"fill": colour, "font-size": "13"}
        ).add_to(group)
        for c in pkg.layer("cue"):
            if c["properties"].get("sortie") == sortie:
                _cue_marker(pkg, c).add_to(group)
        group.add_to(m)
        bounds.extend(_bounds_points(f["geometry"]))

    hotspots = folium.FeatureGroup(name="Hotspots")
    for f in pkg.layer("hotspot"):
        lon, lat = f["geometry"]["coordinates"][:2]
        folium.CircleMarker(
            [lat, lon],
            radius=7,
            color="#a04000",
            weight=2,
            fill_color="#f5b041",
            fill_opacity=0.9,
            class_name="patrol-hotspot",
            popup=folium.Popup(_hotspot_popup(pkg, f["properties"]), max_width=380),
        ).add_to(hotspots)
    hotspots.add_to(m)

    rally = folium.FeatureGroup(name="Rally points")
    for f in pkg.layer("rally"):
        lon, lat = f["geometry"]["coordinates"][:2]
        p = f["properties"]
        folium.CircleMarker(
            [lat, lon],
            radius=5,
            color=RALLY_COLOUR,
            weight=2,
            fill_color="#d2b4de",
            fill_opacity=0.9,
            class_name="patrol-rally",
            popup=folium.Popup(_table("Rally point", [("sortie", p.get("sortie")), ("altitude", _m(p.get("alt_m")))])),
        ).add_to(rally)
    rally.add_to(m)

    _home_marker(pkg).add_to(m)
    bounds.append((pkg.home[1], pkg.home[0]))
    _fit(m, bounds)
    folium.LayerControl(collapsed=False).add_to(m)

    n_comp = len(pkg.layer("compound"))
    n_sort = len(pkg.layer("route"))
    notes = [
        f"{n_comp} compounds · {n_sort} sorties · {_km(pkg.total_route_m())} of route",
        f"audible radius {pkg.radius_m:.1f} m (swath: route while the speaker is on)",
        f"prompt texts: {pkg.catalogue_note}",
    ]
    rows = [(_swatch(TIER_COLOURS[t], fill=True), f"compound, tier {t}") for t in TIER_COLOURS]
    rows += [
        (_swatch(SORTIE_COLOURS[0]), "sortie route (► direction of flight), one layer per sortie"),
        (_swatch(SWATH_COLOUR, fill=True), "audible swath"),
        (_dot(CUE_COLOURS["enter"]), "cue: enter (loop the tier's prompt)"),
        (_dot(CUE_COLOURS["hotspot"]), "cue: hotspot (play at the loiter)"),
        (_dot(CUE_COLOURS["leave"]), "cue: leave (stop)"),
        (_dot("#f5b041", border="#a04000"), "hotspot (gate or square)"),
        (_swatch(NOFLY_COLOUR, fill=True), "no-fly zone"),
        (_swatch(FENCE_COLOUR, dashed=True), "inclusion fence (per sortie)"),
        (_swatch(EXCLUSION_COLOUR, fill=True), "exclusion fence"),
        (_dot("#d2b4de", border=RALLY_COLOUR), "rally point"),
        (
            '<span class="patrol-home-icon" style="display:inline-block;width:14px;height:14px;'
            'line-height:14px;font-size:10px">H</span>',
            "home",
        ),
    ]
    _legend(m, f"Patrol plan: {pkg.folder.name}", notes, rows)
    return m.get_root().render()


def replay_map(
    log: FlightLog | Sequence[FlightLog],
    package: Path | None = None,
    tiles: str = "osm",
) -> str:
    """A complete, self-contained HTML page replaying one flight log (or several, side by side).

    Shows each flown track with a time slider and a play button (a slider embedded in the page: it moves the
    vehicle marker and draws the track flown up to that time; several logs share the slider, each on its own
    time since its first position), an altitude profile (inline SVG, altitude above home against time, with a
    cursor following the slider), cue plays as markers whose popups give the speaker track, the prompt it
    plays and its text, fence breaches, mode changes and arming. With ``package`` the planned sorties are
    drawn for comparison (a wide pale band under the track, with their cue points); those the flight followed
    (see ``_Package.follow_shares``) are switched on, the others are in the layer list, switched off.
    ``tiles`` as in :func:`plan_map`; the page needs no network unless tiles do.

    Raises :class:`InputError` for an unknown ``tiles`` value, an empty list of logs or an unusable package.
    """
    tiles = _check_tiles(tiles)
    logs = [log] if isinstance(log, FlightLog) else list(log)
    if not logs:
        raise InputError("no flight log given; give one or more .tlog or .bin files")
    pkg = _load_package(Path(package)) if package is not None else None
    m = _new_map(tiles)
    bounds: list[tuple[float, float]] = []
    for lg in logs:
        bounds.extend(zip(lg.lat.tolist(), lg.lon.tolist(), strict=True))

    matched: dict[int, float] = {}
    if pkg is not None:
        matched = pkg.follow_shares(logs)
        compounds = folium.FeatureGroup(name="Planned compounds")
        for f in pkg.layer("compound"):
            p = f["properties"]
            colour = TIER_COLOURS.get(str(p.get("tier", "")), "#555555")
            _add_polygons(
                compounds,
                f["geometry"],
                color=colour,
                weight=1.5,
                fill_color=colour,
                fill_opacity=0.12,
                class_name=f"patrol-compound tier-{p.get('tier', '')}",
                popup=_compound_popup(pkg, p),
                popup_width=420,
            )
        compounds.add_to(m)
        for f in pkg.layer("route"):
            p = f["properties"]
            sortie = p.get("sortie")
            share = matched.get(sortie, 0.0) if isinstance(sortie, int) else 0.0
            shown = share >= FOLLOWED
            group = folium.FeatureGroup(name=f"Planned {_sortie_label(pkg, p)}", show=shown)
            folium.PolyLine(
                _line_locations(f["geometry"]),
                color=PLANNED_COLOUR,
                weight=9,
                opacity=0.3,
                class_name="patrol-planned",
                popup=folium.Popup(_route_popup(pkg, p, share), max_width=360),
            ).add_to(group)
            for c in pkg.layer("cue"):
                if c["properties"].get("sortie") == sortie:
                    _cue_marker(pkg, c, planned=True).add_to(group)
            group.add_to(m)
            if shown:
                bounds.extend(_bounds_points(f["geometry"]))
        if any(s >= FOLLOWED for s in matched.values()):
            _home_marker(pkg).add_to(m)

    tracks_js = []
    for k, lg in enumerate(logs):
        colour = ("#d35400", "#1abc9c", "#8e44ad", "#2980b9", "#c0392b")[k % 5]
        name = Path(lg.path).name or f"log {k + 1}"
        idx = _decimate(len(lg.t_s), TRACK_POINTS)
        group = folium.FeatureGroup(name=f"Flown: {html.escape(name)} ({_dur(lg.duration_s)})")
        latlon = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lg.lat[idx], lg.lon[idx], strict=True)]
        folium.PolyLine(
            latlon if len(latlon) > 1 else latlon * 2,
            color=colour,
            weight=2,
            opacity=0.35,
            class_name="patrol-track-full",
        ).add_to(group)
        group.add_to(m)
        tracks_js.append(_track_data(lg, idx, name, colour, group.get_name()))

        plays = folium.FeatureGroup(name=f"Cue plays: {html.escape(name)} ({len(lg.plays)})")
        for cp in lg.plays:
            folium.CircleMarker(
                [cp.lat, cp.lon],
                radius=7,
                color="#222",
                weight=1.5,
                fill_color=PLAY_COLOURS.get(cp.action, "#3498db"),
                fill_opacity=0.95,
                class_name=f"patrol-play play-{cp.action}",
                popup=folium.Popup(_play_popup(pkg, cp), max_width=380),
                tooltip=html.escape(f"{cp.action} track {cp.track} at {_dur(cp.t_s)}"),
            ).add_to(plays)
        plays.add_to(m)

        events = folium.FeatureGroup(name=f"Modes, arming, breaches: {html.escape(name)}")
        stacked: dict[tuple[float, float], int] = {}
        for e in lg.events:
            if e.kind not in _EVENT_TITLES:
                continue
            if e.kind == "fence_breach":
                icon = folium.DivIcon(
                    html='<div class="patrol-breach-icon">!</div>',
                    icon_size=(22, 22),
                    icon_anchor=(11, 11),
                    class_name="patrol-breach",
                )
            else:  # labels at one spot (a mode change on the ground, arming) are stacked, not drawn over each other
                key = (round(e.lat * 2e4), round(e.lon * 2e4))  # about 5 m
                k = stacked[key] = stacked.get(key, -1) + 1
                icon = folium.DivIcon(
                    html=f'<div class="patrol-label">{html.escape(e.text)}</div>',
                    icon_anchor=(-8, 8 - 17 * k),
                    class_name=f"patrol-event patrol-{'mode' if e.kind == 'mode' else 'arming'}",
                )
            title = _EVENT_TITLES[e.kind]
            folium.Marker(
                [e.lat, e.lon],
                icon=icon,
                popup=folium.Popup(_table(title, [("time", _dur(e.t_s)), ("what", e.text)]), max_width=320),
                tooltip=html.escape(f"{title} at {_dur(e.t_s)}"),
            ).add_to(events)
        events.add_to(m)

    _fit(m, bounds, bottom_right=(20, 220))
    folium.LayerControl(collapsed=True).add_to(m)
    t_max = max(max(float(lg.t_s[-1]), 0.0) for lg in logs)
    m.get_root().html.add_child(folium.Element(_replay_panel(logs, t_max)), name="patrol-replay")
    _Script(_replay_js(m.get_name(), tracks_js, t_max)).add_to(m)

    notes = []
    for lg in logs:
        name = Path(lg.path).name
        start = (
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(lg.start_utc)) if lg.start_utc else "start time unknown"
        )
        notes.append(
            f"{name}: {start}, {_dur(lg.duration_s)}, {_km(_flown_m(lg))} flown, max {_finite_max(lg.alt_m):.0f} m, "
            f"{len(lg.plays)} cue plays, {len(lg.fence_breaches())} fence breaches"
        )
        notes.extend(f"{name}: {w}" for w in lg.warnings)
    if pkg is not None:
        good = sorted((s for s, v in matched.items() if v >= FOLLOWED), key=lambda s: -matched[s])
        notes.append(
            "follows planned "
            + ", ".join(f"sortie {s} ({matched[s]:.0%} matched within {pkg.follow_m:.0f} m)" for s in good)
            if good
            else f"follows no planned sortie of {pkg.folder.name} (all are in the layer list, switched off)"
        )
        notes.append(f"prompt texts: {pkg.catalogue_note}")
    rows = [
        (_swatch("#d35400"), "flown track (faint: whole flight; bold: up to the slider time)"),
        (_dot("#d35400", border="#000"), "vehicle at the slider time"),
        (_dot(PLAY_COLOURS["loop"], border="#222"), "cue play: loop (tier prompt while sweeping)"),
        (_dot(PLAY_COLOURS["play"], border="#222"), "cue play: play (hotspot prompt)"),
        (_dot(PLAY_COLOURS["stop"], border="#222"), "cue play: stop"),
        (
            '<span class="patrol-breach-icon" style="display:inline-block;width:14px;height:14px;'
            'line-height:14px;font-size:10px">!</span>',
            "fence breach",
        ),
        ('<span class="patrol-label">AUTO</span>', "mode change, arming"),
    ]
    if pkg is not None:
        rows += [
            (_swatch(PLANNED_COLOUR, fill=True), "planned sortie route (wide pale band under the flown track)"),
            (_dot("#ffffff", border=CUE_COLOURS["enter"]), "planned cue point"),
        ]
    title = "Flight replay: " + ", ".join(Path(lg.path).name for lg in logs)
    _legend(m, title, notes, rows)
    return m.get_root().render()


def write_html_atomic(html_text: str, path: Path) -> Path:
    """Write a page to ``path`` through a temporary sibling renamed into place (never half-written)."""
    return write_text(path, html_text)


def map_command(package: Path, output: Path, tiles: str) -> str:
    """Write :func:`plan_map` of ``package`` to ``output``; return a one-line summary to print."""
    out = _check_output(Path(output))
    page = plan_map(Path(package), tiles)
    write_html_atomic(page, out)
    pkg = _load_package(Path(package))
    return (
        f"wrote {out} ({_size(len(page.encode()))}): {len(pkg.layer('compound'))} compounds, "
        f"{len(pkg.layer('route'))} sorties, tiles {tiles}"
    )


def replay_command(logs: list[Path], package: Path | None, output: Path, tiles: str) -> str:
    """Write :func:`replay_map` of ``logs`` (all of them, as separate tracks on one slider) to ``output``.

    Returns a one-line summary to print. Raises :class:`InputError` for no logs, an unreadable log or
    package, an unknown ``tiles`` value or an ``output`` that is a folder.
    """
    out = _check_output(Path(output))
    _check_tiles(tiles)
    if not logs:
        raise InputError("no flight log given; give one or more .tlog or .bin files")
    pkg = _load_package(Path(package)) if package is not None else None
    flights = [read_log(p) for p in logs]
    page = replay_map(flights, pkg.folder if pkg is not None else None, tiles)
    write_html_atomic(page, out)
    plays = sum(len(f.plays) for f in flights)
    breaches = sum(len(f.fence_breaches()) for f in flights)
    dur = sum(f.duration_s for f in flights)
    follows = ""
    if pkg is not None:
        shares = pkg.follow_shares(flights)
        good = [str(s) for s, v in sorted(shares.items()) if v >= FOLLOWED]
        follows = f", follows planned sortie {', '.join(good)}" if good else ", follows no planned sortie"
    return (
        f"wrote {out} ({_size(len(page.encode()))}): {len(flights)} log{'s' if len(flights) > 1 else ''}, "
        f"{_dur(dur)} flown, {plays} cue plays, {breaches} fence breaches{follows}, tiles {tiles}"
    )


# ---------------------------------------------------------------------------------------------- the package


@dataclass(frozen=True)
class _Package:
    """The maps' view of a package read by :func:`patrol.package.reader.read_package`."""

    package: Package
    catalogue: Catalogue | None
    catalogue_note: str
    lang: str

    @property
    def folder(self) -> Path:
        return self.package.folder

    @property
    def features(self) -> tuple[dict, ...]:
        return self.package.features

    @property
    def manifest(self) -> dict:
        return self.package.manifest

    @property
    def build(self) -> Build | None:
        return self.package.build

    def layer(self, name: str) -> list[dict]:
        return self.package.layer(name)

    @property
    def home(self) -> tuple[float, float]:
        return self.package.home

    @property
    def radius_m(self) -> float:
        return float((self.manifest.get("audibility") or {}).get("radius_m") or 0.0)

    @property
    def follow_m(self) -> float:
        """How near a flown position must be to a planned route to count as following it."""
        return max(2.0 * self.radius_m, 30.0)

    def frame(self) -> LocalFrame:
        return LocalFrame(*self.home)

    def total_route_m(self) -> float:
        return sum(float(f["properties"].get("length_m") or 0.0) for f in self.layer("route"))

    def compound(self, cid: str | None) -> dict:
        return next((f["properties"] for f in self.layer("compound") if f["properties"].get("id") == cid), {})

    def swath(self) -> Polygon | MultiPolygon | None:
        """Where the broadcast is heard: each route from an enter cue to its leave cue, and each hotspot cue
        outside such a stretch, buffered by the audible radius (WGS84, simplified). A sortie with no cues is
        buffered whole. None when the package has no audible radius or no route."""
        if self.radius_m <= 0:
            return None
        frame = self.frame()
        pieces = []
        for f in self.layer("route"):
            route = frame.geom_to_local(shape(f["geometry"]))
            if not isinstance(route, LineString) or route.length == 0:
                continue
            sortie = f["properties"].get("sortie")
            cues = [c for c in self.layer("cue") if c["properties"].get("sortie") == sortie]
            if not cues:
                pieces.append(route)
                continue
            at, start = 0.0, None
            for c in cues:
                pt = frame.geom_to_local(shape(c["geometry"]))
                rest = substring(route, at, route.length)
                d = at + (rest.project(pt) if rest.length > 0 else 0.0)
                kind = c["properties"].get("kind")
                if kind == "enter" and start is None:
                    start = d
                elif kind == "leave" and start is not None:
                    pieces.append(substring(route, start, d))
                    start = None
                elif kind == "hotspot" and start is None:
                    pieces.append(pt)
                at = d
            if start is not None:
                pieces.append(substring(route, start, route.length))
        if not pieces:
            return None
        heard = unary_union([g.buffer(self.radius_m, quad_segs=8) for g in pieces if not g.is_empty])
        return frame.geom_to_wgs84(heard.simplify(SWATH_SIMPLIFY_M))

    def follow_shares(self, logs: Sequence[FlightLog]) -> dict[int, float]:
        """Per planned sortie, how closely the best-matching log followed it (0 to 1).

        The smaller of two shares: flown positions within :attr:`follow_m` of the route, and route length
        within :attr:`follow_m` of the flown track. Both are needed: every sortie shares its transit legs.
        """
        frame = self.frame()
        routes = {}
        for f in self.layer("route"):
            sortie = f["properties"].get("sortie")
            line = frame.geom_to_local(shape(f["geometry"]))
            if isinstance(sortie, int) and isinstance(line, LineString) and line.length > 0:
                routes[sortie] = line
        out = dict.fromkeys(routes, 0.0)
        for lg in logs:
            x, y = frame.to_local(lg.lon, lg.lat)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 2:
                continue
            flown_pts = shapely.points(x[ok], y[ok])
            flown = LineString(np.column_stack([x[ok], y[ok]])).simplify(1.0)
            box = shapely.box(*flown.bounds).buffer(self.follow_m)
            for sortie, line in routes.items():
                if not box.intersects(line):
                    continue
                share_flown = float(np.mean(shapely.dwithin(line, flown_pts, self.follow_m)))
                route_pts = shapely.line_interpolate_point(
                    line, np.linspace(0.0, line.length, int(line.length / 5) + 2)
                )
                share_route = float(np.mean(shapely.dwithin(flown, route_pts, self.follow_m)))
                out[sortie] = max(out[sortie], min(share_flown, share_route))
        return out

    def prompt_html(self, prompt_id: str | None) -> str:
        """The prompt's id and its texts (package language first), as HTML."""
        if not prompt_id:
            return "<i>none</i>"
        head = f"<b>{html.escape(prompt_id)}</b>"
        if self.catalogue is None:
            return head
        try:
            prompt = self.catalogue.get(prompt_id)
        except InputError:
            return head + ' <span class="alt">(not in the catalogue)</span>'
        langs = sorted(prompt.texts, key=lambda lang: (lang != self.lang, lang))
        parts = [
            f'<div class="prompt{"" if i == 0 else " alt"}">{html.escape(lang)}: '
            f"{html.escape(prompt.texts[lang])}</div>"
            for i, lang in enumerate(langs)
        ]
        if not parts and prompt.clips:
            parts = [f'<div class="prompt alt">recorded clip ({", ".join(sorted(prompt.clips))})</div>']
        return head + "".join(parts)

    def track_prompt(self, track: int) -> tuple[str, str] | None:
        """(prompt id, language) that speaker track ``track`` plays, from the package's prompt build."""
        if self.build is None:
            return None
        clip = self.build.by_track(track)
        return None if clip is None else (clip.prompt_id, clip.lang)


def _load_package(folder: Path) -> _Package:
    pkg = read_package(folder)
    broadcast = pkg.broadcast
    catalogue, note = _find_catalogue(folder, broadcast.get("catalogue"))
    return _Package(pkg, catalogue, note, str(broadcast.get("lang") or "zh"))


def _find_catalogue(folder: Path, named: str | None) -> tuple[Catalogue | None, str]:
    """The package's catalogue, else the project's default one, else None (prompt ids only)."""
    candidates: list[Path] = []
    if named:
        p = Path(named)
        candidates += [p] if p.is_absolute() else [folder / p, p]
    candidates.append(DEFAULT_CATALOGUE)
    for c in candidates:
        if c.is_file():
            try:
                return read_catalogue(c), str(c)
            except InputError:
                continue
    return None, "no catalogue found (prompt ids only)"


# ---------------------------------------------------------------------------------------------- page pieces


class _Script(folium.MacroElement):
    """Raw JavaScript run after every layer of the map exists."""

    _template = Template("{% macro script(this, kwargs) %}\n{{ this.code }}\n{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "PatrolScript"
        self.code = code


def _check_tiles(tiles: str) -> str:
    t = str(tiles).strip()
    if t.lower() in ("none", "osm"):
        return t.lower()
    if t.startswith(("http://", "https://")) and all(k in t for k in ("{z}", "{x}", "{y}")):
        return t
    raise InputError(f"tiles {tiles!r}: unknown; {TILES_HELP}")


def _check_output(out: Path) -> Path:
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give the HTML file to write, e.g. {out / 'map.html'}")
    return out


def _new_map(tiles: str) -> folium.Map:
    m = folium.Map(location=[0, 0], zoom_start=2, tiles=None, control_scale=True, max_zoom=21)
    # Leaflet, and jQuery (folium's popups parse their HTML with it); no Bootstrap or icon fonts (nothing here
    # uses them). offlinefolium inlines each.
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n in ("leaflet", "jquery")]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    root = m.get_root()
    root.header.add_child(folium.Element(_CSS), name="patrol-css")
    if tiles == "none":
        root.header.add_child(folium.Element(_NONE_BACKGROUND), name="patrol-background")
    elif tiles == "osm":
        folium.TileLayer("OpenStreetMap", max_zoom=21, max_native_zoom=19, control=False).add_to(m)
    else:
        host = tiles.split("/")[2]
        folium.TileLayer(tiles, attr=f"tiles: {html.escape(host)}", max_zoom=21, control=False).add_to(m)
    return m


def _fit(m: folium.Map, points: Iterable[tuple[float, float]], bottom_right: tuple[int, int] = (20, 20)) -> None:
    pts = np.array([p for p in points if math.isfinite(p[0]) and math.isfinite(p[1])], dtype=float)
    if not len(pts):
        return
    south, west = pts.min(axis=0)
    north, east = pts.max(axis=0)
    m.fit_bounds(
        [[float(south), float(west)], [float(north), float(east)]],
        padding_top_left=(20, 20),
        padding_bottom_right=bottom_right,
    )
    m.location = [float((south + north) / 2), float((west + east) / 2)]


def _ring(coords: Sequence[Sequence[float]]) -> list[list[float]]:
    return [[round(float(c[1]), 7), round(float(c[0]), 7)] for c in coords]


def _poly_parts(geom: dict) -> list[list[list[list[float]]]]:
    """Leaflet lat/lon rings ([outer, holes...]) of each part of a GeoJSON Polygon or MultiPolygon."""
    if geom["type"] == "Polygon":
        return [[_ring(r) for r in geom["coordinates"]]]
    if geom["type"] == "MultiPolygon":
        return [[_ring(r) for r in poly] for poly in geom["coordinates"]]
    raise InputError(f"a {geom['type']} where a polygon was expected in route.geojson; re-plan the package")


def _add_polygons(
    group: folium.FeatureGroup,
    geom: dict,
    popup: str | None = None,
    popup_width: int = 300,
    tooltip: str | None = None,
    **style: Any,
) -> None:
    """One Leaflet polygon per part of ``geom`` (folium takes no multipolygons), each with the popup."""
    for rings in _poly_parts(geom):
        folium.Polygon(
            rings,
            popup=None if popup is None else folium.Popup(popup, max_width=popup_width),
            tooltip=tooltip,
            **style,
        ).add_to(group)


def _line_locations(geom: dict) -> list:
    if geom["type"] == "LineString":
        return _ring(geom["coordinates"])
    if geom["type"] == "MultiLineString":
        return [_ring(line) for line in geom["coordinates"]]
    raise InputError(f"a {geom['type']} where a line was expected in route.geojson; re-plan the package")


def _shapely_polygons(geom: Polygon | MultiPolygon) -> list[list]:
    polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    return [
        [_ring(p.exterior.coords), *(_ring(h.coords) for h in p.interiors)]
        for p in polys
        if isinstance(p, Polygon) and not p.is_empty
    ]


def _bounds_points(geom: dict) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = shape(geom).bounds
    return [(miny, minx), (maxy, maxx)]


def _table(title: str, rows: Sequence[tuple[str, Any]], extra: str = "") -> str:
    body = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows if v is not None
    )
    return f'<div class="patrol-popup"><b>{html.escape(title)}</b><table>{body}</table>{extra}</div>'


def _pct(v: Any) -> str | None:
    return None if v is None else f"{100.0 * float(v):.1f} %"


def _m(v: Any) -> str | None:
    return None if v is None else f"{float(v):.0f} m"


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def _dur(seconds: float) -> str:
    s = round(float(seconds))
    sign, s = ("-" if s < 0 else ""), abs(s)
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{sign}{s // 60}:{s % 60:02d}"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _compound_popup(pkg: _Package, p: dict) -> str:
    cid = p.get("id")
    rows = [
        ("id", cid),
        ("tier", p.get("tier")),
        ("priority", p.get("priority")),
        ("area", None if p.get("area_m2") is None else f"{float(p['area_m2']):,.0f} m²"),
        ("lanes", p.get("lanes")),
        ("predicted coverage", _pct(p.get("predicted_in_range_share"))),
        ("predicted heard whole", _pct(p.get("predicted_heard_whole_share"))),
        ("predicted time", None if p.get("predicted_time_s") is None else _dur(p["predicted_time_s"])),
        ("sorties", ", ".join(str(s) for s in p.get("sorties") or []) or None),
    ]
    seen = []
    for c in pkg.layer("cue"):
        q = c["properties"]
        if q.get("compound_id") == cid and q.get("prompt_id"):
            where = "looped while sweeping" if q.get("kind") == "enter" else f"at hotspot {q.get('hotspot_id')}"
            key = (where, q["prompt_id"])
            if key not in seen:
                seen.append(key)
    prompts = "".join(f"<div>{html.escape(w)}: {pkg.prompt_html(pid)}</div>" for w, pid in seen)
    extra = f"<hr><b>Prompts played here</b>{prompts}" if prompts else ""
    return _table(str(p.get("name") or cid or "compound"), rows, extra)


def _sortie_label(pkg: _Package, p: dict) -> str:
    names = [str(pkg.compound(c).get("name") or c).split(" (")[0] for c in p.get("compounds") or []]
    length = p.get("length_m")
    t = p.get("predicted_time_s")
    bits = [f"Sortie {p.get('sortie')}"]
    if names:
        bits.append(", ".join(names))
    if length is not None:
        bits.append(_km(float(length)))
    if t is not None:
        bits.append(_dur(float(t)))
    return html.escape(" · ".join(bits))


def _route_popup(pkg: _Package, p: dict, share: float | None = None) -> str:
    names = [f"{c} {pkg.compound(c).get('name', '')}".strip() for c in p.get("compounds") or []]
    rows = [
        ("length", None if p.get("length_m") is None else _km(float(p["length_m"]))),
        ("predicted time", None if p.get("predicted_time_s") is None else _dur(p["predicted_time_s"])),
        ("compounds", "; ".join(names) or None),
        ("followed by the flight", None if share is None else f"{share:.0%}"),
    ]
    return _table(f"Sortie {p.get('sortie')}", rows)


def _cue_marker(pkg: _Package, c: dict, planned: bool = False) -> folium.CircleMarker:
    q = c["properties"]
    lon, lat = c["geometry"]["coordinates"][:2]
    kind = str(q.get("kind", ""))
    colour = CUE_COLOURS.get(kind, "#3498db")
    what = {"enter": "enter: loop", "hotspot": "hotspot: play", "leave": "leave: stop"}.get(kind, kind)
    comp = pkg.compound(q.get("compound_id"))
    rows = [
        ("sortie", q.get("sortie")),
        ("compound", f"{q.get('compound_id')} {comp.get('name', '')}".strip() if q.get("compound_id") else None),
        ("hotspot", q.get("hotspot_id")),
    ]
    extra = f"<hr>{pkg.prompt_html(q.get('prompt_id'))}" if q.get("prompt_id") else ""
    return folium.CircleMarker(
        [lat, lon],
        radius=5 if planned else 6,
        color=colour,
        weight=2,
        fill_color="#ffffff" if planned else colour,
        fill_opacity=0.9,
        class_name=f"patrol-{'planned-cue' if planned else 'cue'} cue-{kind}",
        popup=folium.Popup(_table(f"{'Planned cue' if planned else 'Cue'} · {what}", rows, extra), max_width=380),
    )


def _hotspot_popup(pkg: _Package, p: dict) -> str:
    rules = ((pkg.manifest.get("broadcast") or {}).get("rules") or {}).get("hotspot") or {}
    if not rules and pkg.catalogue is not None:
        rules = pkg.catalogue.hotspot
    pid = rules.get(str(p.get("kind", "")))
    rows = [("id", p.get("id")), ("kind", p.get("kind")), ("compound", p.get("compound"))]
    extra = f"<hr><b>Played at the loiter</b>{pkg.prompt_html(pid)}" if pid else ""
    return _table(str(p.get("name") or p.get("id") or "hotspot"), rows, extra)


def _home_marker(pkg: _Package) -> folium.Marker:
    lon, lat = pkg.home
    return folium.Marker(
        [lat, lon],
        icon=folium.DivIcon(
            html='<div class="patrol-home-icon">H</div>',
            icon_size=(22, 22),
            icon_anchor=(11, 11),
            class_name="patrol-home",
        ),
        popup=folium.Popup(_table("Home (take-off and landing)", [("lat", f"{lat:.7f}"), ("lon", f"{lon:.7f}")])),
        tooltip="home",
    )


def _play_popup(pkg: _Package | None, cp: Any) -> str:
    rows = [
        ("time", f"{_dur(cp.t_s)} ({cp.t_s:.1f} s)"),
        ("action", cp.action),
        ("speaker track", cp.track if cp.action != "stop" else None),
        ("repeats", cp.repeats if cp.action == "play" else None),
        ("logged as", cp.source),
    ]
    extra = ""
    if cp.action != "stop":
        hit = pkg.track_prompt(cp.track) if pkg is not None else None
        if hit is not None:
            extra = f"<hr>{pkg.prompt_html(hit[0])}<div class='alt'>clip language: {html.escape(hit[1])}</div>"
        elif pkg is not None and pkg.build is None:
            extra = "<hr><i>the package has no prompt build (audio/manifest.json): which prompt is unknown</i>"
        elif pkg is not None:
            extra = f"<hr><i>track {cp.track} is not in {html.escape(str(pkg.folder))}'s prompt build</i>"
    return _table(f"Cue play: {cp.action}", rows, extra)


_EVENT_TITLES = {"mode": "Mode change", "fence_breach": "Fence breach", "armed": "Armed", "disarmed": "Disarmed"}


def _swatch(colour: str, fill: bool = False, dashed: bool = False) -> str:
    if fill:
        style = f"background:{colour};opacity:.6;border:1px solid {colour}"
    elif dashed:
        style = f"border-top:2px dashed {colour};height:0"
    else:
        style = f"border-top:3px solid {colour};height:0"
    return f'<span class="sw" style="{style}"></span>'


def _dot(colour: str, border: str | None = None) -> str:
    return (
        f'<span class="sw" style="width:12px;height:12px;border-radius:50%;background:{colour};'
        f'border:2px solid {border or colour};box-sizing:border-box"></span>'
    )


def _legend(m: folium.Map, title: str, notes: Sequence[str], rows: Sequence[tuple[str, str]]) -> None:
    body = "".join(f'<div class="note">{html.escape(n)}</div>' for n in notes)
    body += "".join(f'<div class="row">{sw}<span>{html.escape(label)}</span></div>' for sw, label in rows)
    box = f'<details id="patrol-legend" class="patrol-box" open><summary>{html.escape(title)}</summary>{body}</details>'
    m.get_root().html.add_child(folium.Element(box), name="patrol-legend")


# ----------------------------------------------------------------------------------------------- the replay


def _decimate(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices of ``range(n)``, evenly spread, first and last kept."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def _flown_m(lg: FlightLog) -> float:
    ok = np.isfinite(lg.lat) & np.isfinite(lg.lon)
    if ok.sum() < 2:
        return 0.0
    frame = LocalFrame.around(lg.lon[ok], lg.lat[ok])
    x, y = frame.to_local(lg.lon[ok], lg.lat[ok])
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _finite_max(a: np.ndarray) -> float:
    v = np.asarray(a, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if len(v) else 0.0


def _num_list(a: np.ndarray, digits: int) -> list[float | None]:
    return [None if not math.isfinite(v) else round(v, digits) for v in np.asarray(a, dtype=float).tolist()]


def _track_data(lg: FlightLog, idx: np.ndarray, name: str, colour: str, group: str) -> dict:
    modes = [str(v) for v in np.asarray(lg.mode, dtype=object)[idx].tolist()]
    names = sorted(set(modes))
    return {
        "name": name,
        "color": colour,
        "group": group,
        "t": _num_list(lg.t_s[idx], 1),
        "lat": _num_list(lg.lat[idx], 7),
        "lon": _num_list(lg.lon[idx], 7),
        "alt": _num_list(lg.alt_m[idx], 1),
        "spd": _num_list(lg.speed_mps[idx], 1),
        "batt": _num_list(lg.battery_pct[idx], 0),
        "modes": names,
        "mode": [names.index(v) for v in modes],
    }


def _profile_svg(logs: Sequence[FlightLog], t_max: float) -> str:
    """Altitude above home against time for every log, as inline SVG with a cursor line for the slider."""
    w, h, left, right, top, bottom = 540, 130, 40, 8, 8, 20
    alts = np.concatenate([lg.alt_m[np.isfinite(lg.alt_m)] for lg in logs] + [np.zeros(1)])
    lo, hi = float(min(0.0, alts.min())), float(max(10.0, alts.max()))
    span_t = max(t_max, 1.0)

    def sx(t: float) -> float:
        return left + (w - left - right) * min(max(t, 0.0), span_t) / span_t

    def sy(a: float) -> float:
        return top + (h - top - bottom) * (1.0 - (a - lo) / (hi - lo))

    parts = [
        f'<svg id="patrol-altitude" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="altitude profile">',
        f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="#f8f9f9" '
        'stroke="#bbb"/>',
    ]
    step = _nice_step(hi - lo, 4)
    a = math.ceil(lo / step) * step
    while a <= hi + 1e-9:
        y = sy(a)
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end">{a:g} m</text>')
        a += step
    tstep = _nice_step(span_t, 6, (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600))
    t = 0.0
    while t <= span_t + 1e-9:
        x = sx(t)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{h - bottom}" y2="{h - bottom + 3}" stroke="#555"/>')
        parts.append(f'<text x="{x:.1f}" y="{h - 5}" font-size="9" text-anchor="middle">{_dur(t)}</text>')
        t += tstep
    colours = ("#d35400", "#1abc9c", "#8e44ad", "#2980b9", "#c0392b")
    for k, lg in enumerate(logs):
        idx = _decimate(len(lg.t_s), PROFILE_POINTS)
        pts = " ".join(
            f"{sx(t):.1f},{sy(a):.1f}"
            for t, a in zip(lg.t_s[idx].tolist(), lg.alt_m[idx].tolist(), strict=True)
            if math.isfinite(a)
        )
        parts.append(
            f'<polyline class="patrol-alt-line" points="{pts}" fill="none" stroke="{colours[k % 5]}" '
            'stroke-width="1.5"/>'
        )
        for cp in lg.plays:
            x = sx(cp.t_s)
            parts.append(
                f'<line class="patrol-alt-play" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + 8}" '
                f'stroke="{PLAY_COLOURS.get(cp.action, "#3498db")}" stroke-width="3"><title>'
                f"{html.escape(f'{cp.action} track {cp.track} at {_dur(cp.t_s)}')}</title></line>"
            )
        for e in lg.fence_breaches():
            x = sx(e.t_s)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{h - bottom}" stroke="#e74c3c" '
                f'stroke-dasharray="3 2"><title>{html.escape(e.text)}</title></line>'
            )
    parts.append(
        f'<line id="patrol-alt-cursor" x1="{sx(t_max):.1f}" x2="{sx(t_max):.1f}" y1="{top}" y2="{h - bottom}" '
        'stroke="#000" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(span: float, ticks: int, steps: Sequence[float] | None = None) -> float:
    raw = max(span, 1e-9) / ticks
    if steps is not None:
        return next((s for s in steps if s >= raw), float(math.ceil(raw / 3600) * 3600))
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _replay_panel(logs: Sequence[FlightLog], t_max: float) -> str:
    top = max(math.ceil(t_max), 1)
    return (
        '<div id="patrol-replay" class="patrol-box">'
        '<div class="ctl"><button id="patrol-play" type="button" title="play / pause">▶</button>'
        f'<input id="patrol-slider" type="range" min="0" max="{top}" step="0.5" value="{top}" '
        'aria-label="time since the start of the log"></div>'
        '<div id="patrol-readout"></div>'
        f"{_profile_svg(logs, t_max)}"
        "</div>"
    )


def _replay_js(map_name: str, tracks: list[dict], t_max: float) -> str:
    data = json.dumps(tracks, separators=(",", ":")).replace("</", "<\\/")
    return f"""
(function () {{
  var map = {map_name};
  var tracks = {data};
  var groups = [{", ".join(t["group"] for t in tracks)}];
  var T = {max(t_max, 1.0):.1f};
  var slider = document.getElementById("patrol-slider");
  var readout = document.getElementById("patrol-readout");
  var cursor = document.getElementById("patrol-alt-cursor");
  var svg = document.getElementById("patrol-altitude");
  var x0 = 40, x1 = 532;
  tracks.forEach(function (tr, k) {{
    var group = groups[k];
    tr.latlngs = tr.lat.map(function (a, i) {{ return [a, tr.lon[i]]; }});
    tr.line = L.polyline(tr.latlngs, {{color: tr.color, weight: 4, opacity: 0.95, className: "patrol-track"}});
    tr.dot = L.circleMarker(tr.latlngs[tr.latlngs.length - 1], {{radius: 7, color: "#000", weight: 2,
      fillColor: tr.color, fillOpacity: 1, className: "patrol-vehicle"}});
    tr.line.addTo(group);
    tr.dot.addTo(group);
  }});
  function at(tr, t) {{
    var lo = 0, hi = tr.t.length - 1;
    if (t >= tr.t[hi]) return hi;
    while (lo < hi) {{ var mid = (lo + hi + 1) >> 1; if (tr.t[mid] <= t) lo = mid; else hi = mid - 1; }}
    return lo;
  }}
  function clock(t) {{
    t = Math.round(t); var m = Math.floor(t / 60), s = t % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }}
  function fmt(v, unit) {{ return v === null ? "?" : v.toFixed(1) + " " + unit; }}
  function show(t) {{
    var lines = [];
    tracks.forEach(function (tr) {{
      var i = at(tr, t);
      tr.line.setLatLngs(tr.latlngs.slice(0, i + 1));
      tr.dot.setLatLng(tr.latlngs[i]);
      var batt = tr.batt[i] === null ? "" : " · battery " + tr.batt[i] + " %";
      lines.push((tracks.length > 1 ? tr.name + ": " : "") + "t " + clock(tr.t[i]) + " · alt " +
        fmt(tr.alt[i], "m") + " · " + fmt(tr.spd[i], "m/s") + " · " + tr.modes[tr.mode[i]] + batt);
    }});
    readout.textContent = lines.join("  |  ");
    var x = x0 + (x1 - x0) * Math.min(Math.max(t, 0), T) / T;
    cursor.setAttribute("x1", x.toFixed(1));
    cursor.setAttribute("x2", x.toFixed(1));
  }}
  slider.addEventListener("input", function () {{ show(parseFloat(slider.value)); }});
  svg.addEventListener("click", function (ev) {{
    var box = svg.getBoundingClientRect();
    var x = (ev.clientX - box.left) * 540 / box.width;
    slider.value = Math.min(Math.max((x - x0) / (x1 - x0), 0), 1) * T;
    show(parseFloat(slider.value));
  }});
  var timer = null, button = document.getElementById("patrol-play");
  button.addEventListener("click", function () {{
    if (timer) {{ clearInterval(timer); timer = null; button.textContent = "\\u25B6"; return; }}
    if (parseFloat(slider.value) >= T) slider.value = 0;
    button.textContent = "\\u275A\\u275A";
    timer = setInterval(function () {{
      var v = Math.min(parseFloat(slider.value) + T / 600, T);
      slider.value = v; show(v);
      if (v >= T) {{ clearInterval(timer); timer = null; button.textContent = "\\u25B6"; }}
    }}, 50);
  }});
  show(parseFloat(slider.value));
}})();
"""
