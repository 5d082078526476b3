"""Maps: pages are self-contained, render their layers in headless Chromium with no network, and say the right
things (prompt texts, coverage, which sortie a flight followed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Point, shape

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.review.flightlog import CuePlay, Event, FlightLog, read_log
from patrol.review.maps import _load_package, map_command, plan_map, replay_command, replay_map, write_html_atomic
from patrol.speech.catalogue import read_build, read_catalogue

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_LOG = ROOT.parent / "shared" / "data" / "logs" / "dronekit_flight_replay.tlog"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
OFFLINE_FLAGS = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maps") / "district"
    cmd = [sys.executable, str(ROOT / "cli.py"), "plan", str(ROOT / "geofences" / "sample_district.geojson")]
    cmd += ["--buildings", str(ROOT / "geofences" / "sample_buildings.geojson")]
    run = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def features(package: Path) -> list[dict]:
    return json.loads((package / "route.geojson").read_text(encoding="utf-8"))["features"]


def layer(features: list[dict], name: str) -> list[dict]:
    return [f for f in features if f["properties"]["layer"] == name]


def synthetic_flight(package: Path, features: list[dict], sortie: int = 1, speed: float = 7.0) -> FlightLog:
    """A flight along the planned route of ``sortie``: 1 s samples, climb, AUTO, RTL, one fence breach, and the
    cue plays where the plan puts them (tracks from the package's prompt build)."""
    route = next(f for f in layer(features, "route") if f["properties"]["sortie"] == sortie)
    lon0, lat0 = route["geometry"]["coordinates"][0][:2]
    frame = LocalFrame(lon0, lat0)
    line = frame.geom_to_local(shape(route["geometry"]))
    d = np.append(np.arange(0.0, line.length, speed), line.length)
    xy = np.array([line.interpolate(v).coords[0] for v in d])
    lon, lat = frame.to_wgs84(xy[:, 0], xy[:, 1])
    t = d / speed
    n = len(t)
    alt = np.minimum(40.0, np.minimum(t, t[-1] - t) * 2.5)
    mode = np.array(["GUIDED"] * 3 + ["AUTO"] * (n - 63) + ["RTL"] * 60, dtype=object)
    build = read_build(package / "audio")
    plays = []
    for c in layer(features, "cue"):
        q = c["properties"]
        if q["sortie"] != sortie:
            continue
        at = line.project(frame.geom_to_local(shape(c["geometry"]))) / speed
        clon, clat = c["geometry"]["coordinates"][:2]
        if q["kind"] == "leave":
            plays.append(CuePlay(at, "stop", 0, 0, clat, clon, "statustext"))
        else:
            track = build.clip(q["prompt_id"], "zh").track
            action, rep = ("loop", 0) if q["kind"] == "enter" else ("play", 3)
            plays.append(CuePlay(at, action, track, rep, clat, clon, "statustext"))
    mid = n // 2
    events = [
        Event(0.0, "armed", "armed", lat[0], lon[0]),
        Event(0.0, "mode", "GUIDED", lat[0], lon[0]),
        Event(t[3], "mode", "AUTO", lat[3], lon[3]),
        Event(t[mid], "fence_breach", "fence breach 1 (type 2)", lat[mid], lon[mid]),
        Event(t[n - 60], "mode", "RTL", lat[n - 60], lon[n - 60]),
        Event(t[-1], "disarmed", "disarmed", lat[-1], lon[-1]),
    ]
    return FlightLog(
        path=f"synthetic-sortie-{sortie}.tlog",
        start_utc=1_600_000_000.0,
        t_s=t,
        lat=lat,
        lon=lon,
        alt_m=alt,
        speed_mps=np.full(n, speed),
        mode=mode,
        armed=np.ones(n, dtype=bool),
        battery_pct=np.linspace(100.0, 60.0, n),
        reached=(),
        plays=tuple(sorted(plays, key=lambda p: p.t_s)),
        events=tuple(events),
    )


@pytest.fixture(scope="module")
def flight(package: Path, features: list[dict]) -> FlightLog:
    return synthetic_flight(package, features)


def render(page: str, folder: Path, name: str, after: str = "") -> str:
    """The DOM of ``page`` after headless Chromium ran its scripts with every network request refused;
    fails on any uncaught script error."""
    f = folder / f"{name}.html"
    f.write_text(page + after, encoding="utf-8")
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", *OFFLINE_FLAGS]
    cmd += ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", f.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    errors = [ln for ln in run.stderr.splitlines() if "CONSOLE" in ln and "Uncaught" in ln]
    assert not errors, errors
    return run.stdout


def paths(dom: str, cls: str) -> int:
    """Leaflet SVG paths whose class list holds ``cls``."""
    return len(re.findall(rf'<path[^>]*class="(?:[^"]* )?{re.escape(cls)}(?: [^"]*)?"', dom))


def markers(dom: str, cls: str) -> int:
    return len(re.findall(rf'<div[^>]*class="leaflet-marker-icon {re.escape(cls)}\b', dom))


def assert_offline(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc=", page), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]*\bhref=[\"']?(?:https?:)?//", page), "a stylesheet is loaded from elsewhere"
    assert not re.search(r"@import\s+url\([\"']?(?:https?:)?//", page)


# ------------------------------------------------------------------------------------------------- plan maps


def test_plan_map_is_self_contained_for_every_tiles_choice(package: Path) -> None:
    none = plan_map(package, tiles="none")
    osm = plan_map(package, tiles="osm")
    custom = plan_map(package, tiles="https://tiles.example.org/{z}/{x}/{y}.png")
    for page in (none, osm, custom):
        assert page.lstrip().lower().startswith("<!doctype html>")
        assert_offline(page)
        assert "L.map(" in page and "leaflet" in page.lower()
    assert "L.tileLayer(" not in none and "openstreetmap.org" not in none
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in osm
    assert "tiles.example.org/{z}/{x}/{y}.png" in custom
    assert len(none.encode()) < 1_500_000


def test_plan_map_popups_carry_coverage_and_prompt_texts(package: Path, features: list[dict]) -> None:
    page = plan_map(package, tiles="none")
    man = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    cat = read_catalogue(man["broadcast"]["catalogue"])
    lang = man["broadcast"]["lang"]
    for c in layer(features, "cue"):
        pid = c["properties"]["prompt_id"]
        if pid:
            assert cat.get(pid).texts[lang] in page
    comp = layer(features, "compound")[0]["properties"]
    assert comp["name"] in page and comp["id"] in page
    assert f"{100 * comp['predicted_in_range_share']:.1f} %" in page
    assert "predicted heard whole" in page and "Prompts played here" in page
    assert f"{comp['area_m2']:,.0f} m²" in page


def test_swath_is_where_the_speaker_is_on(package: Path, features: list[dict]) -> None:
    pkg = _load_package(package)
    swath = pkg.swath()
    assert swath is not None and swath.is_valid
    frame = pkg.frame()
    local = frame.geom_to_local(swath)
    for c in layer(features, "cue"):
        assert local.distance(frame.geom_to_local(shape(c["geometry"]))) < 1.0
    home = frame.geom_to_local(Point(*pkg.home))
    assert not local.contains(home), "the transit from home is flown with the speaker off"
    routes = [frame.geom_to_local(shape(f["geometry"])) for f in layer(features, "route")]
    whole = LineString(routes[0].coords).buffer(pkg.radius_m)
    for r in routes[1:]:
        whole = whole.union(r.buffer(pkg.radius_m))
    assert local.area < whole.area
    assert local.difference(whole.buffer(2.0)).area < 1.0


@needs_chromium
def test_plan_map_renders_its_layers_offline(package: Path, features: list[dict], tmp_path: Path) -> None:
    dom = render(plan_map(package, tiles="none"), tmp_path, "plan")
    parts = sum(
        len(f["geometry"]["coordinates"]) if f["geometry"]["type"] == "MultiPolygon" else 1
        for f in layer(features, "compound")
    )
    assert parts >= 15
    assert paths(dom, "patrol-compound") == parts
    for tier in ("closed", "guarded", "scattered"):
        assert paths(dom, f"tier-{tier}") >= 1
    n_sorties = len(layer(features, "route"))
    assert paths(dom, "patrol-route") == n_sorties
    assert dom.count("<textPath") >= n_sorties and "►" in dom
    assert paths(dom, "patrol-cue") == len(layer(features, "cue"))
    assert paths(dom, "patrol-hotspot") == len(layer(features, "hotspot"))
    assert paths(dom, "patrol-rally") == len(layer(features, "rally"))
    assert paths(dom, "patrol-nofly") == len(layer(features, "nofly"))
    assert paths(dom, "patrol-fence-inclusion") == len(layer(features, "fence_inclusion"))
    assert paths(dom, "patrol-fence-exclusion") == len(layer(features, "fence_exclusion"))
    assert paths(dom, "patrol-swath") >= 1
    field = json.loads((package / "heard_field.geojson").read_text(encoding="utf-8"))["features"]
    n_field = sum(len(f["geometry"]["coordinates"]) if f["geometry"]["type"] == "MultiPolygon" else 1 for f in field)
    assert paths(dom, "patrol-field") == n_field  # the predicted field: every area of it drawn
    kinds = {f["properties"]["kind"] for f in field}
    assert {"heard", "shadowed"} <= kinds and paths(dom, "field-shadowed") >= 1
    assert {f["properties"]["compound"] for f in field} == {f["properties"]["id"] for f in layer(features, "compound")}
    assert "predicted: in the buildings' shadow" in dom
    assert markers(dom, "patrol-home") == 1
    assert 'id="patrol-legend"' in dom and "Patrol plan: district" in dom and "compound, tier closed" in dom
    labels = re.findall(r"<span> (.*?)</span>", dom)
    for s in range(1, n_sorties + 1):
        assert any(lb.startswith(f"Sortie {s} ·") for lb in labels), labels
    assert {"Compounds (by tier)", "Hotspots", "No-fly zones", "Rally points"} <= set(labels)
    assert "Predicted field (open ground heard whole / shadowed)" in labels
    assert "leaflet-control-layers" in dom and "leaflet-control-scale-line" in dom
    assert not re.search(r"<img[^>]*leaflet-tile", dom)


# ----------------------------------------------------------------------------------------------- replay maps


def test_replay_map_is_self_contained_and_names_the_prompts(package: Path, flight: FlightLog) -> None:
    page = replay_map(flight, package, tiles="osm")
    assert_offline(page)
    man = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    cat = read_catalogue(man["broadcast"]["catalogue"])
    build = read_build(package / "audio")
    for p in flight.plays:
        if p.action != "stop":
            clip = build.by_track(p.track)
            assert clip is not None and cat.get(clip.prompt_id).texts[clip.lang] in page
    assert "follows planned sortie 1 (" in page
    assert 'id="patrol-altitude"' in page and "<polyline" in page


@needs_chromium
def test_replay_map_renders_track_slider_profile_and_markers(package: Path, flight: FlightLog, tmp_path: Path) -> None:
    dom = render(replay_map(flight, package, tiles="none"), tmp_path, "replay")
    assert 'id="patrol-slider"' in dom and 'type="range"' in dom
    assert re.search(r'<svg id="patrol-altitude"[^>]*>.*?<polyline class="patrol-alt-line"', dom, re.S)
    assert paths(dom, "patrol-track") == 1 and paths(dom, "patrol-track-full") == 1
    assert paths(dom, "patrol-vehicle") == 1
    assert paths(dom, "patrol-play") == len(flight.plays) == 4
    assert paths(dom, "patrol-planned") == 1, "only the followed sortie is switched on"
    assert markers(dom, "patrol-breach") == 1
    assert markers(dom, "patrol-event") == 5  # 3 mode changes, armed, disarmed
    assert ">RTL<" in dom and ">AUTO<" in dom
    readout = re.search(r'id="patrol-readout">([^<]*)<', dom)
    assert readout and readout.group(1).startswith(f"t {int(flight.t_s[-1]) // 60}:")
    assert 'id="patrol-legend"' in dom and "synthetic-sortie-1.tlog" in dom
    assert "leaflet-control-scale-line" in dom and "leaflet-control-layers" in dom


@needs_chromium
def test_replay_slider_moves_the_vehicle_and_the_profile_cursor(
    package: Path, flight: FlightLog, tmp_path: Path
) -> None:
    move = (
        "<script>setTimeout(function () { var s = document.getElementById('patrol-slider');"
        " s.value = 120; s.dispatchEvent(new Event('input')); }, 100);</script>"
    )
    dom = render(replay_map(flight, package, tiles="none"), tmp_path, "slider", after=move)
    readout = re.search(r'id="patrol-readout">([^<]*)<', dom).group(1)
    assert readout.startswith("t 2:00 · alt 40.0 m · 7.0 m/s · AUTO · battery"), readout
    cursor = float(re.search(r'id="patrol-alt-cursor" x1="([\d.]+)"', dom).group(1))
    assert 40 < cursor < 40 + 492 * 0.5
    track = re.search(r'<path class="patrol-track leaflet-interactive"[^>]*\bd="([^"]*)"', dom)
    full = re.search(r'<path class="patrol-track-full leaflet-interactive"[^>]*\bd="([^"]*)"', dom)
    assert track and full and len(track.group(1)) < len(full.group(1))


@needs_chromium
@pytest.mark.skipif(not PUBLIC_LOG.exists(), reason=f"{PUBLIC_LOG} absent")
def test_replay_of_a_real_public_log(package: Path, tmp_path: Path) -> None:
    log = read_log(PUBLIC_LOG)
    page = replay_map([log], package, tiles="none")
    assert_offline(page)
    assert "follows no planned sortie" in page
    dom = render(page, tmp_path, "public")
    assert paths(dom, "patrol-track") == 1 and paths(dom, "patrol-planned") == 0
    assert markers(dom, "patrol-event") == sum(e.kind in ("mode", "armed", "disarmed") for e in log.events)
    assert 'id="patrol-slider"' in dom and "patrol-alt-line" in dom


# ------------------------------------------------------------------------------------------ commands, errors


def test_commands_write_pages_and_summarise(package: Path, features: list[dict], tmp_path: Path) -> None:
    out = tmp_path / "out" / "plan.html"
    line = map_command(package, out, "none")
    assert out.exists() and line.startswith(f"wrote {out} (") and f"{len(layer(features, 'route'))} sorties" in line
    assert "\n" not in line
    log = tmp_path / "flight.tlog"
    if PUBLIC_LOG.exists():
        shutil.copyfile(PUBLIC_LOG, log)
        line = replay_command([log, log], package, tmp_path / "replay.html", "osm")
        assert "2 logs" in line and "follows no planned sortie" in line
        assert (tmp_path / "replay.html").read_text(encoding="utf-8").count("patrol-track-full") >= 2
    page = write_html_atomic("<!doctype html><p>x</p>", tmp_path / "x.html")
    assert page.read_text(encoding="utf-8").endswith("</p>")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["plan.html"]


def test_errors_name_the_file_and_the_fix(package: Path, flight: FlightLog, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"tiles 'google'.*none, osm or a tile URL template"):
        plan_map(package, tiles="google")
    with pytest.raises(InputError, match="tiles"):
        replay_map(flight, None, tiles="ftp://x/{z}/{x}/{y}.png")
    with pytest.raises(InputError, match=r"no mission package here; make one with `patrol plan"):
        plan_map(tmp_path / "nowhere")
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(package / "manifest.json", half)
    with pytest.raises(InputError, match=r"half/route\.geojson: not found; re-plan"):
        plan_map(half)
    (half / "route.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"route\.geojson: unreadable"):
        map_command(half, tmp_path / "m.html", "none")
    with pytest.raises(InputError, match="is a folder"):
        map_command(package, tmp_path, "none")
    with pytest.raises(InputError, match="no flight log given"):
        replay_command([], package, tmp_path / "r.html", "none")
    with pytest.raises(InputError, match="log not found"):
        replay_command([tmp_path / "missing.tlog"], None, tmp_path / "r.html", "none")


def test_prompt_texts_fall_back_to_the_default_catalogue_then_to_ids(
    package: Path, flight: FlightLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(package / "route.geojson", moved)
    man = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    text = read_catalogue(man["broadcast"]["catalogue"]).get("mask-gather").texts["zh"]
    man["broadcast"]["catalogue"] = str(tmp_path / "gone" / "catalogue.toml")
    (moved / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    page = plan_map(moved, tiles="none")
    assert text in page  # the project's catalogue
    monkeypatch.setattr("patrol.review.map_package.DEFAULT_CATALOGUE", tmp_path / "nothing.toml")
    page = plan_map(moved, tiles="none")
    assert text not in page and "mask-gather" in page and "prompt ids only" in page
    page = replay_map(flight, moved, tiles="none")  # no prompt build in the copy: tracks stay tracks
    assert "no prompt build" in page and "speaker track" in page


# --------------------------------------------------------------------------------- Chinese online basemaps

PROBE = """<script>setTimeout(function () {
  var map = window[%r], out = [];
  document.querySelectorAll("img.leaflet-tile").forEach(function (img) {
    var q = img.src.match(/[?&]x=(\\d+)&y=(\\d+)&z=(\\d+)/) || img.src.match(/\\/(\\d+)\\/(\\d+)\\/(\\d+)\\.png/);
    if (!q) { return; }
    var r = img.getBoundingClientRect(), c = map.getContainer().getBoundingClientRect();
    var xyz = img.src.indexOf("x=") > 0 ? [+q[1], +q[2], +q[3]] : [+q[2], +q[3], +q[1]];
    out.push([xyz[0], xyz[1], xyz[2], r.left - c.left, r.top - c.top]);
  });
  var ctr = map.getCenter(), size = map.getSize();
  var pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = JSON.stringify({lat: ctr.lat, lon: ctr.lng, zoom: map.getZoom(), w: size.x, h: size.y, tiles: out});
  document.body.appendChild(pre);
}, 1500);</script>"""


def _mercator_px(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    n = 256 * 2**zoom
    x = (lon + 180) / 360 * n
    y = (1 - np.log(np.tan(np.radians(lat)) + 1 / np.cos(np.radians(lat))) / np.pi) / 2 * n
    return float(x), float(y)


def _probe(page: str, folder: Path, name: str) -> dict:
    var = re.search(r"var (map_[0-9a-f]+) = L\.map\(", page).group(1)
    dom = render(page, folder, name, after=PROBE % var)
    return json.loads(html_unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


@needs_chromium
def test_amap_tiles_are_moved_by_the_gcj02_offset_so_wgs84_tracks_sit_on_their_street(package: Path, tmp_path: Path):
    """Offline, Leaflet still lays out the tile grid: OSM's tiles sit where Web Mercator puts the map's WGS-84
    centre; Amap's (GCJ-02) sit where it puts the GCJ-02 position of that centre, i.e. moved by the offset."""
    from patrol.inputs.crs import gcj_shift_m, wgs84_to_gcj02

    result = {}
    for tiles in ("osm", "amap"):
        page = plan_map(package, tiles=tiles)
        assert_offline(page)
        p = _probe(page, tmp_path, tiles)
        assert p["tiles"], f"{tiles}: no tile laid out"
        lon, lat = p["lon"], p["lat"]
        if tiles == "amap":
            g = wgs84_to_gcj02(lon, lat)
            lon, lat = float(g[0]), float(g[1])
        cx, cy = _mercator_px(lon, lat, p["zoom"])
        errors = [abs(tx * 256 - cx + p["w"] / 2 - left) + abs(ty * 256 - cy + p["h"] / 2 - top)
                  for tx, ty, z, left, top in p["tiles"] if z == p["zoom"]]  # fmt: skip
        assert errors and max(errors) <= 3.0, (tiles, max(errors))
        result[tiles] = p
    east, north = gcj_shift_m(result["amap"]["lon"], result["amap"]["lat"])
    assert np.hypot(east, north) > 100  # Xinzhou: the offset is hundreds of metres, so the test can tell


def test_tile_choices_and_their_refusals(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    both = plan_map(package, tiles="amap,osm")
    assert "L.tileLayer.patrolGcj02(" in both and "webrd0{s}.is.autonavi.com" in both
    base = re.search(r"base_layers : \{(.*?)\}", both, re.S).group(1)
    assert '"Amap \\u9ad8\\u5fb7"' in base and '"OpenStreetMap"' in base  # both in the layer control, Amap first
    assert base.index("Amap") < base.index("OpenStreetMap") and "tile.openstreetmap.org" in both
    monkeypatch.setenv("PATROL_TIANDITU_KEY", "abc123")
    t = plan_map(package, tiles="tianditu")
    assert "T=vec_w" in t and "T=cva_w" in t and "tk=abc123" in t and "patrolGcj02(" not in t  # CGCS2000: no shift
    monkeypatch.delenv("PATROL_TIANDITU_KEY")
    with pytest.raises(InputError, match=r"Tianditu needs a browser key.*PATROL_TIANDITU_KEY"):
        plan_map(package, tiles="tianditu")
    with pytest.raises(InputError, match="none means no background"):
        plan_map(package, tiles="none,osm")
    with pytest.raises(InputError, match=r"tiles 'baidu': unknown"):
        plan_map(package, tiles="baidu")
