"""The audit's uncovered.geojson tells "the flight missed it" from "the plan said no hover could reach it": the
open ground the planner reported unreachable (its manifest's ``predicted_unreachable_m2``, drawn in
heard_field.geojson) comes out as its own kind, ``unreachable``, with the plan's area."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from patrol.atomic import write_folder
from patrol.package.reader import read_package
from patrol.package.writer import package_files
from patrol.review.audit import audit_view, report, report_files, run_audit
from tests.test_shadows import FRAME, courtyard_district, plan_of


def features(pkg_dir) -> tuple[dict, list[dict]]:
    pkg = audit_view(read_package(pkg_dir))
    audits = run_audit([], pkg)  # no flight: everything is uncovered, the plan's unreachable ground among it
    doc = report(audits, pkg, [], 0.9)
    return pkg.compounds[0], json.loads(report_files(doc, audits, pkg, [])["uncovered.geojson"])["features"]


@pytest.fixture(scope="module")
def helipad(tmp_path_factory):
    """The courtyard of test_shadows with a helipad (no-fly) in it: no hover may go over it."""
    d, court = courtyard_district(12.0, nofly=True)
    plan = plan_of(d, 24)
    out = write_folder(package_files(plan), tmp_path_factory.mktemp("helipad") / "pkg")
    return plan, court, out


def test_the_plans_unreachable_ground_is_its_own_kind_with_the_manifests_area(helipad) -> None:
    plan, court, out = helipad
    st = plan.compound_stats[0]
    assert st["predicted_unreachable_m2"] > 0.5 * court.area
    manifest = json.loads((out / "manifest.json").read_text())["compounds"][0]
    comp, feats = features(out)
    kinds = {f["properties"]["kind"]: f for f in feats}
    assert set(kinds) == {"uncovered", "unreachable"}  # no flight: nothing in a shadow *of the track*
    props = kinds["unreachable"]["properties"]
    assert props["compound"] == comp["id"] == st["id"]
    assert props["predicted_unreachable_m2"] == manifest["predicted_unreachable_m2"] == st["predicted_unreachable_m2"]
    local = FRAME.geom_to_local(shape(kinds["unreachable"]["geometry"]))
    assert local.difference(court.buffer(3.0)).area < 1.0  # the courtyard, nothing else
    assert local.area == pytest.approx(st["predicted_unreachable_m2"], rel=0.25)  # the plan's grid cells
    unreach_wgs84 = shape(kinds["unreachable"]["geometry"])
    assert shape(kinds["uncovered"]["geometry"]).contains(unreach_wgs84.representative_point())
    assert not any(b.geometry.intersection(local).area > 0.01 for b in plan.district.buildings)  # open ground


def test_no_unreachable_kind_where_the_plan_reached_everything(tmp_path) -> None:
    d, _court = courtyard_district(20.0)  # hovers over the courtyard reach it all
    plan = plan_of(d, 24)
    assert plan.compound_stats[0]["predicted_unreachable_m2"] == 0.0
    out = write_folder(package_files(plan), tmp_path / "pkg")
    _comp, feats = features(out)
    assert [f["properties"]["kind"] for f in feats] == ["uncovered"]
    assert shapely.geometry.shape(feats[0]["geometry"]).area > 0
