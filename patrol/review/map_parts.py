"""Page parts shared by the plan map and the replay map: the empty map, its fit, layers' geometry, popups,
markers, the legend, and the formatting of numbers on the page.

Promises: :func:`_new_map` gives a folium map carrying only Leaflet, jQuery and the patrol stylesheet
(``templates/patrol.css``), with the tile layer asked for (:func:`_check_tiles` refuses anything else with an
``InputError``); popups (:func:`_table`, ``templates/popup.html.j2``), swatches and the legend
(``templates/legend.html.j2``) escape every text they are given and return ``Markup``; the ``_compound_popup``,
``_route_popup``, ``_hotspot_popup`` and ``_cue_marker`` give what the plan says about a feature of a
:class:`~patrol.review.map_package._Package`; ``_km``, ``_dur`` and friends are the page's one way of writing
lengths, durations, shares and sizes. Nothing here reads or writes a file.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import offlinefolium as folium
from markupsafe import Markup
from offlinefolium.template import Template
from shapely.geometry import MultiPolygon, Polygon, shape

from patrol.errors import InputError
from patrol.i18n import N_, _
from patrol.review.map_package import _Package
from patrol.review.pages import render

TILES_HELP = N_(
    "give none, osm or a tile URL template such as https://tile.example.org/{z}/{x}/{y}.png; or amap, "
    "amap-satellite, tianditu:KEY, tianditu-satellite:KEY; several as a comma list, e.g. amap,osm (docs/maps.md)"
)
TIANDITU_KEY_ENV = "PATROL_TIANDITU_KEY"
# Online basemaps Chinese supervisors use: (URL template, subdomains, attribution, CRS of the tiles).
# Amap's tiles are GCJ-02 and are moved in the page; Tianditu's are CGCS2000, which is WGS-84 to centimetres.
BASEMAPS: dict[str, tuple[str, str, str, str]] = {
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "1234",
        "© 高德地图 AutoNavi (GCJ-02, shifted to WGS-84 in this page)",
        "gcj02",
    ),
    "amap-satellite": (
        "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
        "1234",
        "© 高德地图 AutoNavi imagery (GCJ-02, shifted to WGS-84 in this page)",
        "gcj02",
    ),
    "tianditu": (
        "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=",
        "01234567",
        "© 天地图 Tianditu (CGCS2000)",
        "wgs84",
    ),
    "tianditu-satellite": (
        "https://t{s}.tianditu.gov.cn/DataServer?T=img_w&x={x}&y={y}&l={z}&tk=",
        "01234567",
        "© 天地图 Tianditu imagery (CGCS2000)",
        "wgs84",
    ),
}
TIANDITU_LABELS = {"tianditu": ("vec_w", "cva_w"), "tianditu-satellite": ("img_w", "cia_w")}
BASEMAP_LABELS = {
    "amap": "Amap 高德",
    "amap-satellite": N_("Amap imagery"),
    "tianditu": "Tianditu 天地图",
    "tianditu-satellite": N_("Tianditu imagery"),
}
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
FIELD_COLOURS = {"heard": "#27ae60", "shadowed": "#7f8c8d", "unreachable": "#c0392b"}  # the predicted field
PLANNED_COLOUR = "#2471a3"
FLOWN_COLOURS = ("#d35400", "#1abc9c", "#8e44ad", "#2980b9", "#c0392b")  # one per log, in the order given


class _Script(folium.MacroElement):
    """Raw JavaScript run after every layer of the map exists."""

    _template = Template("{% macro script(this, kwargs) %}\n{{ this.code }}\n{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "PatrolScript"
        self.code = code


def _check_one(t: str, given: str) -> str:
    name, _sep, key = t.partition(":")
    if t.lower() in ("none", "osm", "amap", "amap-satellite"):
        return t.lower()
    if name.lower() in ("tianditu", "tianditu-satellite"):
        key = key or os.environ.get(TIANDITU_KEY_ENV, "")
        if not key.strip():
            raise InputError(
                _(
                    "tiles {given}: Tianditu needs a browser key (free from console.tianditu.gov.cn): "
                    "--tiles {lower}:KEY or set {tianditu_key_env}"
                ).format(given=repr(given), lower=name.lower(), tianditu_key_env=TIANDITU_KEY_ENV)
            )
        return f"{name.lower()}:{key.strip()}"
    if t.startswith(("http://", "https://")) and all(k in t for k in ("{z}", "{x}", "{y}")):
        return t
    raise InputError(_("tiles {given}: unknown; {tiles_help}").format(given=repr(given), tiles_help=_(TILES_HELP)))


def _check_tiles(tiles: str) -> str:
    parts = [_check_one(t.strip(), str(tiles)) for t in str(tiles).strip().split(",") if t.strip()]
    if not parts:
        raise InputError(_("tiles {tiles}: unknown; {tiles_help}").format(tiles=repr(tiles), tiles_help=_(TILES_HELP)))
    if "none" in parts and len(parts) > 1:
        raise InputError(_("tiles {tiles}: none means no background; give it alone").format(tiles=repr(tiles)))
    return ",".join(parts)


class _Gcj02TileLayer(folium.TileLayer):
    """A tile layer of GCJ-02 tiles (Amap), moved in the page by the GCJ-02 offset at the view's centre."""

    _template = Template(
        "{% macro script(this, kwargs) %}\n{{ this.define }}\n"
        "var {{ this.get_name() }} = L.tileLayer.patrolGcj02({{ this.tiles|tojson }}, "
        "{{ this.options|tojavascript }});\n{% endmacro %}"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.define = render("gcj02_tiles.js.j2", rings=_mainland_rings())


def _mainland_rings() -> list[list[list[float]]]:
    from patrol.inputs.crs import MAINLAND

    rings = []
    for p in getattr(MAINLAND, "geoms", [MAINLAND]):
        for r in (p.exterior, *p.interiors):
            rings.append([[round(x, 6), round(y, 6)] for x, y in r.coords])
    return rings


def _tile_layers(m: folium.Map, tiles: str) -> None:
    """One tile layer per comma-separated choice; with several, the first is shown and the others are listed."""
    parts = tiles.split(",")
    several = len(parts) > 1
    for k, t in enumerate(parts):
        name, _sep, key = t.partition(":") if not t.startswith("http") else (t, "", "")
        common = {"max_zoom": 21, "control": several, "show": k == 0, "overlay": False}
        if name == "osm":
            folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_native_zoom=19, **common).add_to(m)
        elif name in BASEMAPS:
            url, subs, attr, crs = BASEMAPS[name]
            cls = _Gcj02TileLayer if crs == "gcj02" else folium.TileLayer
            label = _(BASEMAP_LABELS[name])
            cls(url + key, attr=attr, subdomains=subs, name=label, max_native_zoom=18, **common).add_to(m)
            if name in TIANDITU_LABELS:
                layer, labels_layer = TIANDITU_LABELS[name]
                labels = url.replace(f"T={layer}", f"T={labels_layer}") + key
                opts = {"max_zoom": 21, "max_native_zoom": 18, "control": several, "show": k == 0}
                folium.TileLayer(
                    labels, attr=attr, subdomains=subs, name=f"{label} labels", overlay=True, **opts
                ).add_to(m)
        else:
            host = t.split("/")[2]
            folium.TileLayer(t, attr=f"tiles: {html.escape(host)}", name=host, **common).add_to(m)


def _check_output(out: Path) -> Path:
    if out.is_dir():
        raise InputError(
            _("{out}: is a folder; give the HTML file to write, e.g. {n}").format(out=out, n=out / "map.html")
        )
    return out


def _new_map(tiles: str) -> folium.Map:
    m = folium.Map(location=[0, 0], zoom_start=2, tiles=None, control_scale=True, max_zoom=21)
    # Leaflet, and jQuery (folium's popups parse their HTML with it); no Bootstrap or icon fonts (nothing here
    # uses them). offlinefolium inlines each.
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n in ("leaflet", "jquery")]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    root = m.get_root()
    root.header.add_child(folium.Element(f"\n<style>\n{render('patrol.css')}\n</style>\n"), name="patrol-css")
    if tiles == "none":
        background = f"<style>{render('plain_background.css')}</style>"
        root.header.add_child(folium.Element(background), name="patrol-background")
    else:
        _tile_layers(m, tiles)
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
    raise InputError(
        _("a {type} where a polygon was expected in route.geojson; re-plan the package").format(type=geom["type"])
    )


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
    raise InputError(
        _("a {type} where a line was expected in route.geojson; re-plan the package").format(type=geom["type"])
    )


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


def _table(title: str, rows: Sequence[tuple[str, Any]], extra: Markup = Markup("")) -> Markup:
    """A popup: ``title``, a row per (key, value) whose value is not None (both escaped), then ``extra`` (HTML)."""
    return render("popup.html.j2", title=title, rows=rows, extra=extra)


def _pct(v: Any) -> str | None:
    return None if v is None else f"{100.0 * float(v):.1f} %"


def _m(v: Any) -> str | None:
    return None if v is None else _("{n} m").format(n=f"{float(v):.0f}")


def _km(metres: float) -> str:
    """A distance in the interface language: ``12.3 km`` / ``12.3 公里``, under a kilometre ``850 m`` / ``850 米``."""
    return _("{n} km").format(n=f"{metres / 1000:.1f}") if metres >= 1000 else _m(metres) or ""


def _dur(seconds: float) -> str:
    s = round(float(seconds))
    sign, s = ("-" if s < 0 else ""), abs(s)
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{sign}{s // 60}:{s % 60:02d}"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _compound_popup(pkg: _Package, p: dict) -> Markup:
    cid = p.get("id")
    rows = [
        (_("id"), cid),
        (_("tier"), None if p.get("tier") is None else _(str(p["tier"]))),
        (_("priority"), p.get("priority")),
        (_("area"), None if p.get("area_m2") is None else _("{n} m²").format(n=f"{float(p['area_m2']):,.0f}")),
        (_("lanes"), p.get("lanes")),
        (_("predicted coverage"), _pct(p.get("predicted_in_range_share"))),
        (_("predicted heard whole"), _pct(p.get("predicted_heard_whole_share"))),
        (_("predicted time"), None if p.get("predicted_time_s") is None else _dur(p["predicted_time_s"])),
        (_("sorties"), ", ".join(str(s) for s in p.get("sorties") or []) or None),
    ]
    seen = []
    for c in pkg.layer("cue"):
        q = c["properties"]
        if q.get("compound_id") == cid and q.get("prompt_id"):
            hotspot = _("at hotspot {id}").format(id=q.get("hotspot_id"))
            where = _("looped while sweeping") if q.get("kind") == "enter" else hotspot
            key = (where, q["prompt_id"])
            if key not in seen:
                seen.append(key)
    prompts = Markup("").join(Markup("<div>{}: {}</div>").format(w, pkg.prompt_html(pid)) for w, pid in seen)
    extra = Markup("<hr><b>{}</b>").format(_("Prompts played here")) + prompts if prompts else Markup("")
    return _table(str(p.get("name") or cid or _("compound")), rows, extra)


def _sortie_label(pkg: _Package, p: dict) -> str:
    names = [str(pkg.compound(c).get("name") or c).split(" (")[0] for c in p.get("compounds") or []]
    length = p.get("length_m")
    t = p.get("predicted_time_s")
    bits = [_("Sortie {n}").format(n=p.get("sortie"))]
    if names:
        bits.append(", ".join(names))
    if length is not None:
        bits.append(_km(float(length)))
    if t is not None:
        bits.append(_dur(float(t)))
    return html.escape(" · ".join(bits))


def _route_popup(pkg: _Package, p: dict, share: float | None = None) -> Markup:
    names = [f"{c} {pkg.compound(c).get('name', '')}".strip() for c in p.get("compounds") or []]
    rows = [
        (_("length"), None if p.get("length_m") is None else _km(float(p["length_m"]))),
        (_("predicted time"), None if p.get("predicted_time_s") is None else _dur(p["predicted_time_s"])),
        (_("compounds"), "; ".join(names) or None),
        (_("followed by the flight"), None if share is None else f"{share:.0%}"),
    ]
    return _table(_("Sortie {n}").format(n=p.get("sortie")), rows)


def _cue_marker(pkg: _Package, c: dict, planned: bool = False) -> folium.CircleMarker:
    q = c["properties"]
    lon, lat = c["geometry"]["coordinates"][:2]
    kind = str(q.get("kind", ""))
    colour = CUE_COLOURS.get(kind, "#3498db")
    what = {"enter": _("enter: loop"), "hotspot": _("hotspot: play"), "leave": _("leave: stop")}.get(kind, kind)
    if kind == "leave" and q.get("plays_on"):
        what = _("leave: plays on over the transit (over compounds of the sortie)")
    comp = pkg.compound(q.get("compound_id"))
    rows = [
        (_("sortie"), q.get("sortie")),
        (_("compound"), f"{q.get('compound_id')} {comp.get('name', '')}".strip() if q.get("compound_id") else None),
        (_("hotspot"), q.get("hotspot_id")),
    ]
    extra = Markup("<hr>") + pkg.prompt_html(q.get("prompt_id")) if q.get("prompt_id") else Markup("")
    return folium.CircleMarker(
        [lat, lon],
        radius=5 if planned else 6,
        color=colour,
        weight=2,
        fill_color="#ffffff" if planned else colour,
        fill_opacity=0.9,
        class_name=f"patrol-{'planned-cue' if planned else 'cue'} cue-{kind}",
        popup=folium.Popup(
            _table((_("Planned cue · {what}") if planned else _("Cue · {what}")).format(what=what), rows, extra),
            max_width=380,
        ),
    )


def _hotspot_popup(pkg: _Package, p: dict) -> Markup:
    rules = ((pkg.manifest.get("broadcast") or {}).get("rules") or {}).get("hotspot") or {}
    if not rules and pkg.catalogue is not None:
        rules = pkg.catalogue.hotspot
    pid = rules.get(str(p.get("kind", "")))
    rows = [(_("id"), p.get("id")), (_("kind"), p.get("kind")), (_("compound"), p.get("compound"))]
    played = Markup("<hr><b>{}</b>").format(_("Played at the loiter"))
    extra = played + pkg.prompt_html(pid) if pid else Markup("")
    return _table(str(p.get("name") or p.get("id") or _("hotspot")), rows, extra)


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
        popup=folium.Popup(
            _table(_("Home (take-off and landing)"), [(_("lat"), f"{lat:.7f}"), (_("lon"), f"{lon:.7f}")])
        ),
        tooltip=_("home"),
    )


LAUNCH_COLOUR = "#1a5276"


def _launch_layer(pkg: _Package) -> folium.FeatureGroup | None:
    """The launch points of the vehicles of a vehicles file (the manifest's ``fleet.vehicles``): per point a
    dot (none at home: its H marks it) and a label naming the vehicles that take off there; popups give each
    vehicle's battery, speeds, speaker level and MAVLink id. None for a package planned without a vehicles file."""
    vehicles = [v for v in ((pkg.manifest.get("fleet") or {}).get("vehicles") or []) if v.get("launch")]
    if not vehicles:
        return None
    at: dict[tuple[float, float], list[dict]] = {}
    for v in vehicles:
        at.setdefault((round(float(v["launch"]["lat"]), 7), round(float(v["launch"]["lon"]), 7)), []).append(v)
    home_lon, home_lat = pkg.home
    group = folium.FeatureGroup(name=_("Launch points (vehicles file)"))
    for (lat, lon), here in at.items():
        ids = ", ".join(str(v.get("id", "")) for v in here)
        rows: list[tuple[str, Any]] = [(_("lat"), f"{lat:.7f}"), (_("lon"), f"{lon:.7f}")]
        for v in here:
            rows.append(
                (
                    _("vehicle {id}").format(id=v.get("id", "")),
                    _("{endurance} min battery, {speed} m/s patrol, speaker {db} dB, sysid {sysid}").format(
                        endurance=f"{float(v.get('endurance_min') or 0):g}",
                        speed=f"{float(v.get('patrol_speed_mps') or 0):g}",
                        db=f"{float(v.get('speaker_db') or 0):g}",
                        sysid=v.get("sysid") if v.get("sysid") is not None else "-",
                    ),
                )
            )
        table = _table(_("Launch point of {ids}").format(ids=ids), rows)
        at_home = abs(lat - home_lat) < 1e-6 and abs(lon - home_lon) < 1e-6
        if not at_home:
            folium.CircleMarker(
                [lat, lon],
                radius=7,
                color="#ffffff",
                weight=2,
                fill_color=LAUNCH_COLOUR,
                fill_opacity=1.0,
                class_name="patrol-launch",
                popup=folium.Popup(table, max_width=380),
                tooltip=html.escape(_("launch point of {ids}").format(ids=ids)),
            ).add_to(group)
        folium.Marker(
            [lat, lon],
            icon=folium.DivIcon(
                html=Markup('<span class="patrol-launch-label">{}</span>').format(ids),
                icon_size=(0, 0),
                icon_anchor=(-12, 9),  # beside the point, clear of the dot and of the H
                class_name="patrol-launch-id",
            ),
            popup=folium.Popup(table, max_width=380),  # a popup of its own: Leaflet binds one per marker
        ).add_to(group)
    return group


def _swatch(colour: str, fill: bool = False, dashed: bool = False) -> Markup:
    if fill:
        style = f"background:{colour};opacity:.6;border:1px solid {colour}"
    elif dashed:
        style = f"border-top:2px dashed {colour};height:0"
    else:
        style = f"border-top:3px solid {colour};height:0"
    return Markup('<span class="sw" style="{}"></span>').format(style)


def _dot(colour: str, border: str | None = None) -> Markup:
    return Markup(
        '<span class="sw" style="width:12px;height:12px;border-radius:50%;background:{};'
        'border:2px solid {};box-sizing:border-box"></span>'
    ).format(colour, border or colour)


def _legend(m: folium.Map, title: str, notes: Sequence[str], rows: Sequence[tuple[Markup, str]]) -> None:
    """The legend box: ``title`` and ``notes`` (texts), then a key row per (swatch HTML, label text)."""
    box = render("legend.html.j2", title=title, notes=notes, rows=rows)
    m.get_root().html.add_child(folium.Element(box), name="patrol-legend")


def _plan_legend(m: folium.Map, pkg: _Package) -> None:
    """The plan map's legend: the package's counts, audible radius and catalogue, and a key to every layer."""
    n_comp = len(pkg.layer("compound"))
    n_sort = len(pkg.layer("route"))
    notes = [
        _("{compounds} compounds · {sorties} sorties · {length} of route").format(
            compounds=n_comp, sorties=n_sort, length=_km(pkg.total_route_m())
        ),
        _("audible radius {r} m (swath: route while the speaker is on)").format(r=f"{pkg.radius_m:.1f}"),
        _("prompt texts: {where}").format(where=pkg.catalogue_note),
    ]
    rows = [(_swatch(TIER_COLOURS[t], fill=True), _("compound, tier {tier}").format(tier=_(t))) for t in TIER_COLOURS]
    rows += [
        (_swatch(SORTIE_COLOURS[0]), _("sortie route (► direction of flight), one layer per sortie")),
        (_swatch(SWATH_COLOUR, fill=True), _("audible swath")),
        *(
            [
                (_swatch(FIELD_COLOURS["heard"], fill=True), _("predicted: open ground heard whole")),
                (_swatch(FIELD_COLOURS["shadowed"], fill=True), _("predicted: in the buildings' shadow")),
                (_swatch(FIELD_COLOURS["unreachable"], fill=True), _("predicted: shadow no hover reaches")),
            ]
            if pkg.layer("heard_field")
            else []
        ),
        (_dot(CUE_COLOURS["enter"]), _("cue: enter (loop the tier's prompt)")),
        (_dot(CUE_COLOURS["hotspot"]), _("cue: hotspot (play at the loiter)")),
        (_dot(CUE_COLOURS["leave"]), _("cue: leave (stop)")),
        (_dot("#f5b041", border="#a04000"), _("hotspot (gate or square)")),
        (_swatch(NOFLY_COLOUR, fill=True), _("no-fly zone")),
        (_swatch(FENCE_COLOUR, dashed=True), _("inclusion fence (per sortie)")),
        (_swatch(EXCLUSION_COLOUR, fill=True), _("exclusion fence")),
        (_dot("#d2b4de", border=RALLY_COLOUR), _("rally point")),
        (
            Markup(
                '<span class="patrol-home-icon" style="display:inline-block;width:14px;height:14px;'
                'line-height:14px;font-size:10px">H</span>'
            ),
            _("home"),
        ),
    ]
    if (pkg.manifest.get("fleet") or {}).get("vehicles"):
        rows.append(
            (_dot(LAUNCH_COLOUR, border="#ffffff"), _("launch point of a vehicle of the vehicles file (its id)"))
        )
    _legend(m, _("Patrol plan: {name}").format(name=pkg.folder.name), notes, rows)
