"""Reading compounds: GeoJSON and KML, repairs with a warning, refusals with one clear line."""

import json

import pytest

from patrol.errors import InputError
from patrol.inputs.compounds import load_features, read_district
from tests.conftest import poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415
D = 0.001  # about 87 m east-west, 111 m north-south here


def _compound(i, **props):
    base = {"id": f"C{i}", "name": f"compound {i}", "tier": "scattered"}
    base.update(props)
    return poly_feature(square_lonlat(LON + i * 2 * D, LAT, D), **base)


def test_reads_polygons_hotspots_and_nofly(tmp_path):
    feats = [
        _compound(0, tier="closed", priority=3),
        _compound(1),
        {
            "type": "Feature",
            "properties": {"hotspot": "gate", "compound": "C1", "name": "gate"},
            "geometry": {"type": "Point", "coordinates": [LON + 2.5 * D, LAT]},
        },
        poly_feature(square_lonlat(LON, LAT + 3 * D, D), id="NFZ", nofly=True),
    ]
    d = read_district([write_fc(tmp_path / "a.geojson", feats)])
    assert [c.id for c in d.compounds] == ["C0", "C1"]
    assert d.compounds[0].tier == "closed" and d.compounds[0].priority == 3
    assert d.compounds[1].priority == 1  # scattered defaults to the top priority
    assert d.compounds[1].hotspots[0].kind == "gate"
    assert [z.id for z in d.nofly] == ["NFZ"]
    area = d.compounds[0].area_m2
    assert 9_000 < area < 10_500  # 0.001 deg square at 38.4 N: 87 m x 111 m


def test_kml_reads_the_same_as_geojson(tmp_path):
    ring = " ".join(f"{x},{y},0" for x, y in square_lonlat(LON, LAT, D)[0])
    hole = " ".join(f"{x},{y},0" for x, y in square_lonlat(LON + 0.3 * D, LAT + 0.3 * D, 0.3 * D)[0][::-1])
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>Heping</name><ExtendedData><Data name="id"><value>K1</value></Data>
<Data name="tier"><value>guarded</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>{hole}</coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark>
<Placemark><name>gate</name><ExtendedData><Data name="hotspot"><value>gate</value></Data>
<Data name="compound"><value>K1</value></Data></ExtendedData>
<Point><coordinates>{LON + 0.5 * D},{LAT}</coordinates></Point></Placemark>
</Document></kml>"""
    p = tmp_path / "a.kml"
    p.write_text(kml)
    d = read_district([p])
    c = d.compounds[0]
    assert (c.id, c.name, c.tier) == ("K1", "Heping", "guarded")
    assert len(c.geometry.interiors) == 1
    assert 0.89 < c.area_m2 / 9_700 < 0.93  # 9% hole
    assert c.hotspots[0].compound_id == "K1"


def test_bowtie_is_repaired_with_a_warning(tmp_path):
    bow = [[[LON, LAT], [LON + D, LAT + D], [LON + D, LAT], [LON, LAT + D], [LON, LAT]]]
    d = read_district([write_fc(tmp_path / "b.geojson", [poly_feature(bow, id="BOW")])])
    assert d.compounds[0].geometry.is_valid
    assert any("'BOW'" in w and "make_valid" in w for w in d.warnings)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [
                poly_feature([[[LAT, LON], [LAT + D, LON], [LAT + D, LON + D], [LAT, LON]]], id="SW"),
                _compound(1),
                _compound(2),
            ],
            "'SW'.*swapped",
        ),
        (
            [poly_feature([[[LON, 138.4], [LON + D, 138.4], [LON + D, 138.5], [LON, 138.4]]], id="BAD")],
            "'BAD'.*outside lon",
        ),
        (
            [poly_feature([[[LON, LAT], [LON + D, LAT], [LON + 2 * D, LAT], [LON, LAT]]], id="FLAT")],
            "'FLAT'.*degenerate",
        ),
        ([poly_feature(square_lonlat(LON, LAT, 0.05), id="HUGE")], "'HUGE'.*km²"),
        ([_compound(0, tier="gated")], "tier='gated'"),
        ([_compound(0), _compound(0)], "'C0' appears twice"),
        ([_compound(0, priority="high")], "priority='high'"),
        (
            [
                _compound(0),
                {
                    "type": "Feature",
                    "properties": {"hotspot": "gate", "compound": "NOPE"},
                    "geometry": {"type": "Point", "coordinates": [LON, LAT]},
                },
            ],
            "names compound 'NOPE'",
        ),
        (
            [
                _compound(0),
                {
                    "type": "Feature",
                    "properties": {"hotspot": "gate", "compound": "C0", "id": "far"},
                    "geometry": {"type": "Point", "coordinates": [LON + 0.01, LAT]},
                },
            ],
            "'far'.*outside compound",
        ),
        (
            [
                {
                    "type": "Feature",
                    "properties": {"id": "L"},
                    "geometry": {"type": "LineString", "coordinates": [[LON, LAT], [LON + D, LAT]]},
                }
            ],
            "no Polygon",
        ),
    ],
)
def test_bad_input_is_refused_with_one_line_naming_the_feature(tmp_path, features, message):
    p = write_fc(tmp_path / "bad.geojson", features)
    with pytest.raises(InputError, match=message) as err:
        read_district([p])
    text = str(err.value)
    assert "\n" not in text and str(p) in text


def test_unreadable_files_are_one_line(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_features(tmp_path / "missing.geojson")
    (tmp_path / "x.geojson").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_features(tmp_path / "x.geojson")
    (tmp_path / "y.kml").write_text("<kml><Placemark>")
    with pytest.raises(InputError, match="not valid KML"):
        load_features(tmp_path / "y.kml")
    (tmp_path / "z.geojson").write_text(json.dumps({"type": "Point", "coordinates": [0, 0]}))
    with pytest.raises(InputError, match="FeatureCollection"):
        load_features(tmp_path / "z.geojson")


def test_real_osm_polygons_read_cleanly():
    from tests.conftest import SHARED

    path = SHARED / "polygons" / "palmas_br_osm_residential.geojson"
    if not path.exists():
        pytest.skip(f"{path} absent (shared data not beside the checkout)")
    d = read_district([path])
    assert len(d.compounds) == 68
    total = sum(c.area_m2 for c in d.compounds)
    assert total == pytest.approx(645_000, rel=0.01)  # PROVENANCE.md: 0.645 km²
