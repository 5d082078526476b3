"""Maps: a mission package, or a flown log against it, as one self-contained HTML page.

Pages are built with ``offlinefolium`` (the PyPI package ``folium-offline``: folium's API with every
Leaflet and plugin script and stylesheet inlined), so a page opens with no network at all; the only
online resource a page may name is the tile layer, and ``tiles="none"`` drops that too. Only Leaflet's
own script and stylesheet and jQuery (folium's popups need it) are kept from folium's defaults (no Bootstrap
or icon fonts: markers here are circles and plain HTML labels), which keeps a page at about half a MB.

Everything geometric (the audible swath, how closely a flight followed a planned sortie) is computed in a
local metric frame (:class:`patrol.geo.LocalFrame`); the page itself is WGS84.

This module is the public face: :func:`plan_map`, :func:`replay_map`, :func:`write_html_atomic` and the two
commands' bodies :func:`map_command` and :func:`replay_command` (each returns the one line the CLI prints; errors
are ``InputError`` exceptions naming the file and the fix). The work is done in :mod:`patrol.review.map_package` (the
package as the maps see it; its ``_load_package`` is re-exported here), :mod:`patrol.review.map_parts` (map,
layers, popups, legend), :mod:`patrol.review.replay_parts` (flown tracks, slider, profile) and
:mod:`patrol.review.pages` (the Jinja2 templates in ``patrol/review/templates``: CSS, JavaScript, SVG, HTML).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import offlinefolium as folium
from offlinefolium import plugins

from patrol.atomic import write_text
from patrol.errors import InputError
from patrol.i18n import _
from patrol.review.flightlog import FlightLog, read_log
from patrol.review.map_package import FOLLOWED, _load_package, _Package
from patrol.review.map_parts import (
    EXCLUSION_COLOUR,
    FENCE_COLOUR,
    FIELD_COLOURS,
    NOFLY_COLOUR,
    PLANNED_COLOUR,
    RALLY_COLOUR,
    SORTIE_COLOURS,
    SWATH_COLOUR,
    TIER_COLOURS,
    _add_polygons,
    _bounds_points,
    _check_output,
    _check_tiles,
    _compound_popup,
    _cue_marker,
    _dur,
    _fit,
    _home_marker,
    _hotspot_popup,
    _launch_layer,
    _line_locations,
    _m,
    _new_map,
    _plan_legend,
    _route_popup,
    _Script,
    _shapely_polygons,
    _size,
    _sortie_label,
    _table,
)
from patrol.review.replay_parts import _flown_layers, _replay_js, _replay_legend, _replay_panel

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

    compounds = folium.FeatureGroup(name=_("Compounds (by tier)"))
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
        group = folium.FeatureGroup(name=_("Audible swath (r = {r} m)").format(r=f"{pkg.radius_m:.0f}"))
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

    _field_layer(pkg).add_to(m)

    nofly = folium.FeatureGroup(name=_("No-fly zones"))
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
            popup=_table(_("No-fly zone"), [(_("id"), p.get("id")), (_("name"), p.get("name"))]),
        )
        bounds.extend(_bounds_points(f["geometry"]))
    nofly.add_to(m)

    inclusion = folium.FeatureGroup(name=_("Inclusion fences (dashed)"))
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
            popup=_table(
                _("Inclusion fence"), [(_("sortie"), p.get("sortie")), (_("max altitude"), _m(p.get("max_alt_m")))]
            ),
            popup_width=300,
        )
        bounds.extend(_bounds_points(f["geometry"]))
    inclusion.add_to(m)

    exclusion = folium.FeatureGroup(name=_("Exclusion fences"))
    for f in pkg.layer("fence_exclusion"):
        _add_polygons(
            exclusion,
            f["geometry"],
            color=EXCLUSION_COLOUR,
            weight=2,
            fill_color=EXCLUSION_COLOUR,
            fill_opacity=0.15,
            class_name="patrol-fence-exclusion",
            popup=_table(_("Exclusion fence"), [(_("sortie"), f["properties"].get("sortie"))]),
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

    hotspots = folium.FeatureGroup(name=_("Hotspots"))
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

    rally = folium.FeatureGroup(name=_("Rally points"))
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
            popup=folium.Popup(
                _table(_("Rally point"), [(_("sortie"), p.get("sortie")), (_("altitude"), _m(p.get("alt_m")))])
            ),
        ).add_to(rally)
    rally.add_to(m)

    _home_marker(pkg).add_to(m)
    bounds.append((pkg.home[1], pkg.home[0]))
    launches = _launch_layer(pkg)
    if launches is not None:  # a vehicles file: each vehicle's launch point, labelled with its id
        launches.add_to(m)
        bounds.extend(
            (float(v["launch"]["lat"]), float(v["launch"]["lon"]))
            for v in pkg.manifest["fleet"]["vehicles"]
            if v.get("launch")
        )
    _fit(m, bounds)
    folium.LayerControl(collapsed=False).add_to(m)

    _plan_legend(m, pkg)
    return m.get_root().render()


def _field_layer(pkg: _Package) -> folium.FeatureGroup:
    """The predicted heard-whole field (``heard_field.geojson``): each compound's open ground heard whole, the
    part in the buildings' shadow, and of that the part no permitted hover reaches (docs/acoustics.md)."""
    names = {
        "heard": _("heard whole"),
        "shadowed": _("in the buildings' shadow"),
        "unreachable": _("in the shadow, no hover reaches it"),
    }
    group = folium.FeatureGroup(name=_("Predicted field (open ground heard whole / shadowed)"))
    for f in pkg.layer("heard_field"):
        p = f["properties"]
        kind = str(p.get("kind", ""))
        colour = FIELD_COLOURS.get(kind, "#555555")
        _add_polygons(
            group,
            f["geometry"],
            color=colour,
            weight=0,
            fill_color=colour,
            fill_opacity=0.35 if kind == "heard" else 0.6,
            class_name=f"patrol-field field-{kind}",
            tooltip=html.escape(f"{p.get('compound', '')}: {names.get(kind, kind)}"),
        )
    return group


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
        raise InputError(_("no flight log given; give one or more .tlog or .bin files"))
    pkg = _load_package(Path(package)) if package is not None else None
    m = _new_map(tiles)
    bounds: list[tuple[float, float]] = []
    for lg in logs:
        bounds.extend(zip(lg.lat.tolist(), lg.lon.tolist(), strict=True))

    matched: dict[int, float] = {}
    if pkg is not None:
        matched = pkg.follow_shares(logs)
        compounds = folium.FeatureGroup(name=_("Planned compounds"))
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
            group = folium.FeatureGroup(name=_("Planned {sortie}").format(sortie=_sortie_label(pkg, p)), show=shown)
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
            launches = _launch_layer(pkg)
            if launches is not None:
                launches.add_to(m)

    tracks_js = [_flown_layers(m, lg, k, pkg) for k, lg in enumerate(logs)]

    _fit(m, bounds, bottom_right=(20, 220))
    folium.LayerControl(collapsed=True).add_to(m)
    t_max = max(max(float(lg.t_s[-1]), 0.0) for lg in logs)
    m.get_root().html.add_child(folium.Element(_replay_panel(logs, t_max)), name="patrol-replay")
    _Script(_replay_js(m.get_name(), tracks_js, t_max)).add_to(m)

    _replay_legend(m, logs, pkg, matched)
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
    text = _("wrote {path} ({size}): {compounds} compounds, {sorties} sorties, tiles {tiles}")
    size = _size(len(page.encode()))
    return text.format(
        path=out, size=size, compounds=len(pkg.layer("compound")), sorties=len(pkg.layer("route")), tiles=tiles
    )


def replay_command(logs: list[Path], package: Path | None, output: Path, tiles: str) -> str:
    """Write :func:`replay_map` of ``logs`` (all of them, as separate tracks on one slider) to ``output``.

    Returns a one-line summary to print. Raises :class:`InputError` for no logs, an unreadable log or
    package, an unknown ``tiles`` value or an ``output`` that is a folder.
    """
    out = _check_output(Path(output))
    _check_tiles(tiles)
    if not logs:
        raise InputError(_("no flight log given; give one or more .tlog or .bin files"))
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
        follows = (
            _(", follows planned sortie {sorties}").format(sorties=", ".join(good))
            if good
            else _(", follows no planned sortie")
        )
    text = _(
        "wrote {path} ({size}): {logs}, {t} flown, {plays} cue plays, {breaches} fence breaches{follows}, tiles {tiles}"
    )
    logs_text = (_("{n} logs") if len(flights) > 1 else _("{n} log")).format(n=len(flights))
    return text.format(
        path=out,
        size=_size(len(page.encode())),
        logs=logs_text,
        t=_dur(dur),
        plays=plays,
        breaches=breaches,
        follows=follows,
        tiles=tiles,
    )
