"""Inputs in the coordinate systems Chinese maps give: per-file CRS, declarations, refusals, the plausibility
warning, OSM export ids, and the done-means test: an Amap (GCJ-02) or Baidu (BD-09) outline plans onto the
WGS-84 outline, proven with published reference points converted both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, shape

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.inputs.compounds import read_district
from patrol.inputs.coords import parse_point
from patrol.inputs.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from tests.conftest import ROOT

# Published pairs (../shared/data/gcj02/reference_points.csv, copied here so the test always runs):
# googollee/eviltransform python/test.py, Beijing: WGS-84 -> GCJ-02, the leaked formula's own output.
BEIJING_WGS = (116.377817, 39.911954)
BEIJING_GCJ = (116.38404722455657, 39.91334545536069)
# wandergis/coordtransform issue #1: AMap's official convert API, BD-09 -> GCJ-02 (Guangdong).
AMAP_BD = (112.9778, 22.915835)
AMAP_GCJ = (112.97124803, 22.91014091)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT)


def metres(frame: LocalFrame, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = frame.to_local(*a)
    bx, by = frame.to_local(*b)
    return float(np.hypot(ax - bx, ay - by))


def outline_wgs(corner: tuple[float, float]) -> list[tuple[float, float]]:
    """A 170 m x 130 m L-shaped compound whose first vertex is ``corner`` (WGS-84)."""
    lon, lat = corner
    dx, dy = 0.002, 0.0012  # about 170 m x 133 m at 40 N
    return [
        (lon, lat),
        (lon + dx, lat),
        (lon + dx, lat + dy),
        (lon + dx / 2, lat + dy),
        (lon + dx / 2, lat + dy / 2),
        (lon, lat + dy / 2),
    ]


def kml(ring: list[tuple[float, float]], gate: tuple[float, float], doc_crs: str | None = None) -> str:
    coords = " ".join(f"{x!r},{y!r},0" for x, y in [*ring, ring[0]])
    extra = f'<ExtendedData><Data name="crs"><value>{doc_crs}</value></Data></ExtendedData>' if doc_crs else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{extra}
<Placemark><name>石油大院</name><ExtendedData><Data name="id"><value>A1</value></Data>
<Data name="tier"><value>guarded</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark>
<Placemark><name>南门</name><ExtendedData><Data name="hotspot"><value>gate</value></Data>
<Data name="compound"><value>A1</value></Data></ExtendedData>
<Point><coordinates>{gate[0]!r},{gate[1]!r}</coordinates></Point></Placemark>
</Document></kml>"""


def buildings_fc(ring: list[tuple[float, float]], crs: str | None = "wgs84") -> dict:
    """Twelve 12 m footprints inside the outline, 6 storeys, as OSM (WGS-84) would give them."""
    poly = Polygon(ring)
    minx, miny, maxx, maxy = poly.bounds
    feats = []
    for x in np.linspace(minx, maxx, 6)[1:-1]:
        for y in np.linspace(miny, maxy, 6)[1:-1]:
            b = shapely.box(x - 0.00007, y - 0.00005, x + 0.00007, y + 0.00005)
            if poly.contains(b):
                feats.append({"type": "Feature", "properties": {"building:levels": 6}, "geometry": b.__geo_interface__})
    doc = {"type": "FeatureCollection", "features": feats}
    if crs:
        doc["crs"] = crs
    return doc


def convert(ring: list[tuple[float, float]], fn) -> list[tuple[float, float]]:
    lon, lat = fn(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def waypoints(pkg: Path) -> np.ndarray:
    rows = []
    for f in sorted(pkg.glob("sortie-*.waypoints")):
        for line in f.read_text().splitlines()[1:]:
            p = line.split("\t")
            rows.append((float(p[9]), float(p[8]), float(p[10])))  # lon, lat, alt
    return np.array(rows)


@pytest.fixture(scope="module")
def district_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("crs")
    ring = outline_wgs(BEIJING_WGS)
    gate = (BEIJING_WGS[0] + 0.0005, BEIJING_WGS[1] + 0.00002)
    files = {
        "wgs": d / "outlines_wgs.kml",
        "gcj": d / "outlines.kml",
        "bd": d / "outlines_bd.kml",
        "buildings": d / "b.geojson",
    }
    files["wgs"].write_text(kml(ring, gate), encoding="utf-8")
    gcj_ring = convert(ring, wgs84_to_gcj02)
    files["gcj"].write_text(kml(gcj_ring, convert([gate], wgs84_to_gcj02)[0]), encoding="utf-8")
    files["bd"].write_text(kml(convert(ring, wgs84_to_bd09), convert([gate], wgs84_to_bd09)[0]), encoding="utf-8")
    files["buildings"].write_text(json.dumps(buildings_fc(ring)), encoding="utf-8")
    return files


def test_the_amap_outline_starts_at_the_published_gcj02_point(district_files):
    """The GCJ-02 outline the test draws is the published one: its first vertex is eviltransform's answer."""
    frame = LocalFrame(*BEIJING_WGS)
    first = read_district(district_files["gcj"]).compounds  # read as WGS-84: where Amap's numbers would land
    g = convert([BEIJING_WGS], wgs84_to_gcj02)[0]
    assert metres(frame, g, BEIJING_GCJ) < 0.001
    back = convert([BEIJING_GCJ], gcj02_to_wgs84)[0]
    assert metres(frame, back, BEIJING_WGS) < 0.001
    assert first  # and it reads


def test_plan_from_gcj02_and_bd09_outlines_flies_the_wgs84_outline(district_files, tmp_path):
    home = f"{BEIJING_WGS[1] - 0.0004},{BEIJING_WGS[0] + 0.001}"
    g_home = convert([(BEIJING_WGS[0] + 0.001, BEIJING_WGS[1] - 0.0004)], wgs84_to_gcj02)[0]
    b = district_files["buildings"]
    runs = {
        "wgs": ["plan", str(district_files["wgs"]), "--buildings", str(b), "--home", home],
        "gcj": [
            "plan",
            str(district_files["gcj"]),
            "--crs",
            "gcj02",
            "--buildings",
            str(b),
            "--home",
            f"{g_home[1]!r},{g_home[0]!r}",
        ],
        "bd": ["plan", f"{district_files['bd']}:bd09", "--buildings", str(b), "--home", home],
        "raw": ["plan", str(district_files["gcj"]), "--buildings", str(b), "--home", home],
    }
    pkgs = {}
    for name, args in runs.items():
        out = tmp_path / name
        res = cli(*args, "-o", str(out), "--speaker", "none")
        assert res.returncode == 0, res.stderr
        pkgs[name] = (out, res)
    ref = waypoints(pkgs["wgs"][0])
    frame = LocalFrame(*BEIJING_WGS)
    for name in ("gcj", "bd"):
        wp = waypoints(pkgs[name][0])
        assert wp.shape == ref.shape, name
        x1, y1 = frame.to_local(wp[:, 0], wp[:, 1])
        x0, y0 = frame.to_local(ref[:, 0], ref[:, 1])
        assert float(np.max(np.hypot(x1 - x0, y1 - y0))) < 0.01, name
        assert np.allclose(wp[:, 2], ref[:, 2])
        route = json.loads((pkgs[name][0] / "route.geojson").read_text())
        comp = next(f for f in route["features"] if f["properties"]["layer"] == "compound")
        outline = frame.geom_to_local(shape(comp["geometry"]))
        truth = frame.geom_to_local(Polygon(outline_wgs(BEIJING_WGS)))
        assert outline.symmetric_difference(truth).area < 0.5  # m²: the same outline to about a millimetre
        man = json.loads((pkgs[name][0] / "manifest.json").read_text())
        crs = {Path(i["path"]).name: (i["crs"], i["crs_from"]) for i in man["inputs"]}
        expected_from = "--crs" if name == "gcj" else "FILE:CRS"
        assert crs[district_files[name].name] == ({"gcj": "gcj02", "bd": "bd09"}[name], expected_from)
        assert crs["b.geojson"] == ("wgs84", "file")  # the buildings file says so; --crs does not move it
    # Read as WGS-84 (no --crs), the Amap outline puts the drone over another block, and patrol says so.
    wp = waypoints(pkgs["raw"][0])
    x1, y1 = frame.to_local(wp[:, 0], wp[:, 1])
    sweep = frame.geom_to_local(Polygon(outline_wgs(BEIJING_WGS)))
    far = [sweep.distance(shapely.Point(x, y)) for x, y in zip(x1[2:-2], y1[2:-2], strict=True)]
    assert np.median(far) > 300
    assert "line up with the compounds only when moved 55" in pkgs["raw"][1].stderr


def test_baidu_outline_at_amaps_official_point(tmp_path):
    """AMap's own BD-09 -> GCJ-02 answer, then GCJ-02 -> WGS-84: a compound drawn on Baidu lands where AMap's
    official converter says (within a centimetre), and WGS-84 -> BD-09 gives the Baidu vertex back."""
    w = convert([AMAP_BD], bd09_to_wgs84)[0]
    frame = LocalFrame(*w)
    assert metres(frame, convert([AMAP_GCJ], gcj02_to_wgs84)[0], w) < 0.01
    assert metres(frame, convert([w], wgs84_to_bd09)[0], AMAP_BD) < 0.001
    ring_bd = convert(outline_wgs(w), wgs84_to_bd09)
    ring_bd[0] = AMAP_BD
    gate = convert([(w[0] + 0.0005, w[1] + 0.00002)], wgs84_to_bd09)[0]
    p = tmp_path / "baidu.kml"
    p.write_text(kml(ring_bd, gate, doc_crs="bd09"), encoding="utf-8")
    d = read_district(p)
    assert d.inputs[0].crs == "bd09" and d.inputs[0].crs_from == "file"
    first = shapely.get_coordinates(d.frame.geom_to_wgs84(d.compounds[0].geometry))
    assert min(metres(frame, tuple(c), w) for c in first) < 0.01


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def square(lon: float, lat: float, d: float = 0.0015) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def fc(*features: dict, **top) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **top}


def feat(geom: dict, **props) -> dict:
    return {"type": "Feature", "properties": {"levels": 5, **props}, "geometry": geom}


def test_declarations_suffixes_and_their_conflicts(tmp_path):
    g = convert([BEIJING_WGS], wgs84_to_gcj02)[0]
    p = write(tmp_path / "a.geojson", fc(feat(square(*g), id="A"), crs="gcj02"))
    d = read_district(p)
    assert (d.inputs[0].crs, d.inputs[0].crs_from) == ("gcj02", "file")
    vertices = shapely.get_coordinates(d.frame.geom_to_wgs84(d.compounds[0].geometry))
    assert min(metres(LocalFrame(*BEIJING_WGS), tuple(v), BEIJING_WGS) for v in vertices) < 0.01
    qgis = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    q = write(tmp_path / "q.geojson", fc(feat(square(*BEIJING_WGS), id="Q"), crs=qgis))
    d = read_district(q, crs="gcj02")
    assert (d.inputs[0].crs, d.inputs[0].crs_from) == ("wgs84", "file")  # the file's word beats --crs
    plain = write(tmp_path / "plain.geojson", fc(feat(square(*g), id="P")))
    d = read_district(f"{plain}:GCJ-02")
    assert (d.inputs[0].crs, d.inputs[0].crs_from, d.inputs[0].path) == ("gcj02", "FILE:CRS", str(plain))
    with pytest.raises(InputError, match=r"a\.geojson: the file says its coordinates are gcj02 but .*:bd09"):
        read_district(f"{p}:bd09")
    with pytest.raises(InputError, match=r"unknown coordinate system 'gcj2' \(did you mean gcj02\?\)"):
        read_district(f"{plain}:gcj2")
    with pytest.raises(InputError, match=r"--crs 'gcj2': unknown coordinate system \(did you mean gcj02\?\)"):
        read_district(plain, crs="gcj2")
    bad = write(tmp_path / "m.geojson", fc(feat(square(*g), id="M"), crs={"properties": {"name": "EPSG:3857"}}))
    with pytest.raises(InputError, match=r"m\.geojson: declares crs 'EPSG:3857'"):
        read_district(bad)


def test_hong_kong_in_gcj02_is_refused_and_points_typed_in_gcj02_are_moved(tmp_path):
    hk = write(tmp_path / "hk.geojson", fc(feat(square(114.17, 22.30), id="HK")))
    assert read_district(hk).compounds  # WGS-84 in Hong Kong is fine
    with pytest.raises(InputError, match=r"hk\.geojson: feature 'HK' lies in Hong Kong.*FILE:wgs84"):
        read_district(hk, crs="gcj02")
    lat, lon, crs = parse_point(f"{BEIJING_GCJ[1]!r},{BEIJING_GCJ[0]!r}", crs="gcj02")
    assert crs == "gcj02" and metres(LocalFrame(*BEIJING_WGS), (lon, lat), BEIJING_WGS) < 0.001
    with pytest.raises(InputError, match=r"--home '39.9,116.3:mars': unknown coordinate system 'mars'; use wgs84"):
        parse_point("39.9,116.3:mars")


def test_osm_export_ids_become_compound_ids_and_missing_ids_are_one_warning(tmp_path):
    lon, lat = 112.73, 38.415
    feats = [
        feat(square(lon, lat), **{"@id": "way/101"}),
        feat(square(lon + 0.003, lat), full_id="r202", osm_id=202, osm_type="relation"),
        feat(square(lon + 0.006, lat), osm_id=303, osm_type="way"),
        *(feat(square(lon + 0.009 + 0.003 * k, lat), name=f"n{k}") for k in range(5)),
    ]
    d = read_district(write(tmp_path / "o.geojson", fc(*feats)))
    assert [c.id for c in d.compounds][:3] == ["way/101", "relation/202", "way/303"]
    missing = [w for w in d.warnings if "no 'id'" in w]
    assert len(missing) == 1 and "5 compound(s)" in missing[0] and "'n0' as C004" in missing[0]


def test_buildings_in_the_wrong_crs_are_noticed(tmp_path, district_files):
    ring = outline_wgs(BEIJING_WGS)
    comp = write(tmp_path / "c.geojson", fc(feat({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, id="A")))
    plain = buildings_fc(ring, crs=None)
    b = write(tmp_path / "b.geojson", plain)
    assert not [w for w in read_district(comp, building_paths=b).warnings if "line up" in w]
    d = read_district(comp, building_paths=f"{b}:gcj02")  # OSM buildings wrongly taken for GCJ-02
    (w,) = [w for w in d.warnings if "line up" in w]
    assert "b.geojson" in w and "WGS-84 and GCJ-02" in w and "buildings as gcj02" in w
    assert "0% of footprints lie in a compound as read, 100% moved" in w
