"""Replay page parts: what one flown log adds to the map, the altitude profile, the slider panel and its script.

Promises: :func:`_flown_layers` adds a log's faint whole track, its cue plays (popups name the speaker track and,
through the package's prompt build, the prompt and its text) and its mode, arming and breach events, and returns
the track data the slider script animates (:func:`_track_data`: at most :data:`TRACK_POINTS` positions, rounded,
JSON-ready). :func:`_replay_panel` is the play button, slider and readout over the altitude profile
(:func:`_profile_svg`: numbers computed here, laid out by ``templates/profile.svg.j2``); :func:`_replay_js` is
the script (``templates/replay.js.j2``) that moves the vehicle, the bold track and the profile cursor with the
slider; :func:`_replay_legend` is the legend (per log: start, length, plays, breaches, warnings; the sortie
followed). Profile and script share one geometry (``PROFILE_*``), so a click on the profile lands on its time.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import offlinefolium as folium
from markupsafe import Markup

from patrol.geo import LocalFrame
from patrol.i18n import N_, _
from patrol.review.flightlog import FlightLog
from patrol.review.map_package import FOLLOWED, _Package
from patrol.review.map_parts import (
    CUE_COLOURS,
    FLOWN_COLOURS,
    PLANNED_COLOUR,
    PLAY_COLOURS,
    _dot,
    _dur,
    _km,
    _legend,
    _swatch,
    _table,
)
from patrol.review.pages import render

TRACK_POINTS = 3000  # at most this many positions per flown track on the map
PROFILE_POINTS = 800  # and this many in the altitude profile
# The profile's viewBox (width, height) and its plot's margins (left, right, top, bottom), in SVG units.
PROFILE_W, PROFILE_H = 540, 130
PROFILE_LEFT, PROFILE_RIGHT, PROFILE_TOP, PROFILE_BOTTOM = 40, 8, 8, 20
_EVENT_TITLES = {"mode": N_("Mode change"), "fence_breach": N_("Fence breach"), "armed": N_("Armed")}
_EVENT_TITLES["disarmed"] = N_("Disarmed")
# The words of the slider's readout (replay.js.j2 gets them translated).
_JS_WORDS = (N_("t"), N_("alt"), N_("battery"), N_("m"), N_("m/s"))
# Cue actions as the page names them (the log's own words stay in the data).
_ACTIONS = {"loop": N_("loop"), "play": N_("play"), "stop": N_("stop")}


def _act(action: str) -> str:
    return _(_ACTIONS[action]) if action in _ACTIONS else action


def _play_title(cp: Any) -> str:
    return _("{action} track {track} at {t}").format(action=_act(cp.action), track=cp.track, t=_dur(cp.t_s))


def _flown_layers(m: folium.Map, lg: FlightLog, k: int, pkg: _Package | None) -> dict:
    """Add log number ``k``'s layers to ``m`` (faint track, cue plays, events); return its slider track data."""
    colour = FLOWN_COLOURS[k % len(FLOWN_COLOURS)]
    name = Path(lg.path).name or _("log {n}").format(n=k + 1)
    idx = _decimate(len(lg.t_s), TRACK_POINTS)
    group = folium.FeatureGroup(name=_("Flown: {name} ({t})").format(name=html.escape(name), t=_dur(lg.duration_s)))
    latlon = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lg.lat[idx], lg.lon[idx], strict=True)]
    folium.PolyLine(
        latlon if len(latlon) > 1 else latlon * 2,
        color=colour,
        weight=2,
        opacity=0.35,
        class_name="patrol-track-full",
    ).add_to(group)
    group.add_to(m)

    plays = folium.FeatureGroup(name=_("Cue plays: {name} ({n})").format(name=html.escape(name), n=len(lg.plays)))
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
            tooltip=html.escape(_play_title(cp)),
        ).add_to(plays)
    plays.add_to(m)

    events = folium.FeatureGroup(name=_("Modes, arming, breaches: {name}").format(name=html.escape(name)))
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
            level = stacked[key] = stacked.get(key, -1) + 1
            icon = folium.DivIcon(
                html=f'<div class="patrol-label">{html.escape(e.text)}</div>',
                icon_anchor=(-8, 8 - 17 * level),
                class_name=f"patrol-event patrol-{'mode' if e.kind == 'mode' else 'arming'}",
            )
        title = _(_EVENT_TITLES[e.kind])
        folium.Marker(
            [e.lat, e.lon],
            icon=icon,
            popup=folium.Popup(_table(title, [(_("time"), _dur(e.t_s)), (_("what"), e.text)]), max_width=320),
            tooltip=html.escape(_("{what} at {t}").format(what=title, t=_dur(e.t_s))),
        ).add_to(events)
    events.add_to(m)
    return _track_data(lg, idx, name, colour, group.get_name())


def _replay_legend(m: folium.Map, logs: Sequence[FlightLog], pkg: _Package | None, matched: dict[int, float]) -> None:
    """The replay's legend: per log its start, duration, distance, height, plays, breaches and warnings; which
    planned sortie it followed (``matched``: :meth:`_Package.follow_shares`); and a key to the layers."""
    notes = []
    for lg in logs:
        name = Path(lg.path).name
        start = (
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(lg.start_utc))
            if lg.start_utc
            else _("start time unknown")
        )
        note = _("{name}: {start}, {t}, {km} flown, max {alt} m, {plays} cue plays, {breaches} fence breaches")
        notes.append(
            note.format(
                name=name,
                start=start,
                t=_dur(lg.duration_s),
                km=_km(_flown_m(lg)),
                alt=f"{_finite_max(lg.alt_m):.0f}",
                plays=len(lg.plays),
                breaches=len(lg.fence_breaches()),
            )
        )
        notes.extend(f"{name}: {w}" for w in lg.warnings)
    if pkg is not None:
        good = sorted((s for s, v in matched.items() if v >= FOLLOWED), key=lambda s: -matched[s])
        each = _("sortie {n} ({share} matched within {m} m)")
        shares = [each.format(n=s, share=f"{matched[s]:.0%}", m=f"{pkg.follow_m:.0f}") for s in good]
        notes.append(
            _("follows planned {sorties}").format(sorties=", ".join(shares))
            if good
            else _("follows no planned sortie of {name} (all are in the layer list, switched off)").format(
                name=pkg.folder.name
            )
        )
        notes.append(_("prompt texts: {where}").format(where=pkg.catalogue_note))
    rows = [
        (_swatch(FLOWN_COLOURS[0]), _("flown track (faint: whole flight; bold: up to the slider time)")),
        (_dot(FLOWN_COLOURS[0], border="#000"), _("vehicle at the slider time")),
        (_dot(PLAY_COLOURS["loop"], border="#222"), _("cue play: loop (tier prompt while sweeping)")),
        (_dot(PLAY_COLOURS["play"], border="#222"), _("cue play: play (hotspot prompt)")),
        (_dot(PLAY_COLOURS["stop"], border="#222"), _("cue play: stop")),
        (
            Markup(
                '<span class="patrol-breach-icon" style="display:inline-block;width:14px;height:14px;'
                'line-height:14px;font-size:10px">!</span>'
            ),
            _("fence breach"),
        ),
        (Markup('<span class="patrol-label">AUTO</span>'), _("mode change, arming")),
    ]
    if pkg is not None:
        rows += [
            (_swatch(PLANNED_COLOUR, fill=True), _("planned sortie route (wide pale band under the flown track)")),
            (_dot("#ffffff", border=CUE_COLOURS["enter"]), _("planned cue point")),
        ]
    title = _("Flight replay: {logs}").format(logs=", ".join(Path(lg.path).name for lg in logs))
    _legend(m, title, notes, rows)


def _play_popup(pkg: _Package | None, cp: Any) -> Markup:
    rows = [
        (_("time"), f"{_dur(cp.t_s)} ({cp.t_s:.1f} s)"),
        (_("action"), _act(cp.action)),
        (_("speaker track"), cp.track if cp.action != "stop" else None),
        (_("repeats"), cp.repeats if cp.action == "play" else None),
        (_("logged as"), cp.source),
    ]
    extra = Markup("")
    if cp.action != "stop":
        hit = pkg.track_prompt(cp.track) if pkg is not None else None
        if hit is not None:
            lang = Markup(_("clip language: {lang}")).format(lang=hit[1])
            extra = Markup("<hr>{}<div class='alt'>{}</div>").format(pkg.prompt_html(hit[0]), lang)
        elif pkg is not None and pkg.build is None:
            none = _("the package has no prompt build (audio/manifest.json): which prompt is unknown")
            extra = Markup("<hr><i>{}</i>").format(none)
        elif pkg is not None:
            missing = _("track {track} is not in {package}'s prompt build").format(track=cp.track, package=pkg.folder)
            extra = Markup("<hr><i>{}</i>").format(missing)
    return _table(_("Cue play: {action}").format(action=_act(cp.action)), rows, extra)


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


def _profile_svg(logs: Sequence[FlightLog], t_max: float) -> Markup:
    """Altitude above home against time for every log, as inline SVG with a cursor line for the slider."""
    w, h, left, right, top, bottom = PROFILE_W, PROFILE_H, PROFILE_LEFT, PROFILE_RIGHT, PROFILE_TOP, PROFILE_BOTTOM
    alts = np.concatenate([lg.alt_m[np.isfinite(lg.alt_m)] for lg in logs] + [np.zeros(1)])
    lo, hi = float(min(0.0, alts.min())), float(max(10.0, alts.max()))
    span_t = max(t_max, 1.0)

    def sx(t: float) -> float:
        return left + (w - left - right) * min(max(t, 0.0), span_t) / span_t

    def sy(a: float) -> float:
        return top + (h - top - bottom) * (1.0 - (a - lo) / (hi - lo))

    alt_ticks = []
    step = _nice_step(hi - lo, 4)
    a = math.ceil(lo / step) * step
    while a <= hi + 1e-9:
        y = sy(a)
        alt_ticks.append({"y": f"{y:.1f}", "label_y": f"{y + 3:.1f}", "label": _("{n} m").format(n=f"{a:g}")})
        a += step
    time_ticks = []
    tstep = _nice_step(span_t, 6, (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600))
    t = 0.0
    while t <= span_t + 1e-9:
        time_ticks.append({"x": f"{sx(t):.1f}", "label": _dur(t)})
        t += tstep
    lines = []
    for k, lg in enumerate(logs):
        idx = _decimate(len(lg.t_s), PROFILE_POINTS)
        pts = " ".join(
            f"{sx(t):.1f},{sy(a):.1f}"
            for t, a in zip(lg.t_s[idx].tolist(), lg.alt_m[idx].tolist(), strict=True)
            if math.isfinite(a)
        )
        plays = [
            {
                "x": f"{sx(cp.t_s):.1f}",
                "colour": PLAY_COLOURS.get(cp.action, "#3498db"),
                "title": _play_title(cp),
            }
            for cp in lg.plays
        ]
        breaches = [{"x": f"{sx(e.t_s):.1f}", "title": e.text} for e in lg.fence_breaches()]
        lines.append(
            {"points": pts, "colour": FLOWN_COLOURS[k % len(FLOWN_COLOURS)], "plays": plays, "breaches": breaches}
        )
    return render(
        "profile.svg.j2",
        width=w,
        height=h,
        x0=left,
        x1=w - right,
        y0=top,
        y1=h - bottom,
        plot_width=w - left - right,
        plot_height=h - top - bottom,
        alt_label_x=left - 4,
        time_tick_y=h - bottom + 3,
        time_label_y=h - 5,
        play_tick_y=top + 8,
        alt_ticks=alt_ticks,
        time_ticks=time_ticks,
        lines=lines,
        cursor_x=f"{sx(t_max):.1f}",
    )


def _nice_step(span: float, ticks: int, steps: Sequence[float] | None = None) -> float:
    raw = max(span, 1e-9) / ticks
    if steps is not None:
        return next((s for s in steps if s >= raw), float(math.ceil(raw / 3600) * 3600))
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _replay_panel(logs: Sequence[FlightLog], t_max: float) -> Markup:
    top = max(math.ceil(t_max), 1)
    return render("replay_panel.html.j2", top=top, profile=_profile_svg(logs, t_max))


def _replay_js(map_name: str, tracks: list[dict], t_max: float) -> str:
    """The slider script for the folium map named ``map_name`` and the tracks of :func:`_flown_layers`."""
    return render(
        "replay.js.j2",
        map_name=map_name,
        tracks_json=json.dumps(tracks, separators=(",", ":")).replace("</", "<\\/"),
        group_names=[t["group"] for t in tracks],
        t_text=f"{max(t_max, 1.0):.1f}",
        words={w: _(w) for w in _JS_WORDS},
        x0=PROFILE_LEFT,
        x1=PROFILE_W - PROFILE_RIGHT,
        width=PROFILE_W,
    )
