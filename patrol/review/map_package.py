"""The maps' view of a mission package: what the pages need to know about it, beyond the files themselves.

:func:`_load_package` reads a package once (:func:`patrol.package.reader.read_package`, whose ``InputError`` errors
pass through) and finds its prompt catalogue (:func:`_find_catalogue`: the one the manifest names, else the
project's default, else none). :class:`_Package` answers, in the local metric frame around home: where the
broadcast is heard (:meth:`~_Package.swath`), how closely flown logs followed each planned sortie
(:meth:`~_Package.follow_shares`, judged against :data:`FOLLOWED`), and what a prompt or a speaker track says
(:meth:`~_Package.prompt_html`, :meth:`~_Package.track_prompt`). Pure reads: nothing here writes a file or draws.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from markupsafe import Markup
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.ops import substring, unary_union

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.i18n import _
from patrol.package.reader import Package, read_package
from patrol.paths import PROJECT, portable
from patrol.review.flightlog import FlightLog
from patrol.speech.catalogue import DEFAULT_CATALOGUE, Build, Catalogue, read_catalogue

SWATH_SIMPLIFY_M = 1.0  # tolerance of the swath outline; keeps the page light
FOLLOWED = 0.5  # a flight follows a planned sortie when both shares of follow_shares reach this


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
        """Where the broadcast is heard: each route from an enter cue to its leave cue (on to the next enter where
        the leave plays on over the transit), and each hotspot cue
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
                elif kind == "leave" and start is not None and not c["properties"].get("plays_on"):
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

    def prompt_html(self, prompt_id: str | None) -> Markup:
        """The prompt's id and its texts (package language first), as HTML (``Markup``: safe to nest)."""
        if not prompt_id:
            return Markup("<i>{}</i>").format(_("none"))
        head = f"<b>{html.escape(prompt_id)}</b>"
        if self.catalogue is None:
            return Markup(head)
        try:
            prompt = self.catalogue.get(prompt_id)
        except InputError:
            return Markup(head) + Markup(' <span class="alt">{}</span>').format(_("(not in the catalogue)"))
        langs = sorted(prompt.texts, key=lambda lang: (lang != self.lang, lang))
        parts = [
            f'<div class="prompt{"" if i == 0 else " alt"}">{html.escape(lang)}: '
            f"{html.escape(prompt.texts[lang])}</div>"
            for i, lang in enumerate(langs)
        ]
        if not parts and prompt.clips:
            clips = _("recorded clip ({langs})").format(langs=", ".join(sorted(prompt.clips)))
            parts = [f'<div class="prompt alt">{html.escape(clips)}</div>']
        return Markup(head + "".join(parts))

    def track_prompt(self, track: int) -> tuple[str, str] | None:
        """(prompt id, language) that speaker track ``track`` plays, from the package's prompt build."""
        if self.build is None:
            return None
        clip = self.build.by_track(track)
        return None if clip is None else (clip.prompt_id, clip.lang)


def _load_package(folder: Path) -> _Package:
    """The package in ``folder`` with its prompt catalogue; ``InputError`` for a missing or unreadable package."""
    pkg = read_package(folder)
    broadcast = pkg.broadcast
    catalogue, note = _find_catalogue(folder, broadcast.get("catalogue"))
    return _Package(pkg, catalogue, note, str(broadcast.get("lang") or "zh"))


def _find_catalogue(folder: Path, named: str | None) -> tuple[Catalogue | None, str]:
    """The package's catalogue, else the project's default one, else None (prompt ids only)."""
    candidates: list[Path] = []
    if named:
        p = Path(named)
        candidates += [p] if p.is_absolute() else [folder / p, p, PROJECT / p]
    candidates.append(DEFAULT_CATALOGUE)
    for c in candidates:
        if c.is_file():
            try:
                return read_catalogue(c), portable(c)
            except InputError:
                continue
    return None, _("no catalogue found (prompt ids only)")
