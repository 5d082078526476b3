"""Bad input, fuzzed: mutated compound files (GeoJSON, KML), QGroundControl plans, mission packages, prompt
catalogues and flight logs (.tlog, DataFlash .bin) fed to the real readers and commands.

Every input must end as a result (a district, a plan, a sortie, a report, a log) or as one :class:`PatrolError`
line that names the file; anything else (a traceback, ``internal error``) fails the test and hypothesis shrinks
it to the smallest input that does it. The mutations are structural where a byte flip would only ever hit the
parser's first check: JSON nodes replaced by values of the wrong type, KML text and attributes rewritten, TOML
values swapped, MAVLink messages re-packed with extreme field values and a valid CRC, DataFlash records with
extreme values; plus byte flips, cuts, insertions and duplications on every format.

Bounded for CI: ``PATROL_FUZZ_EXAMPLES`` examples per format (default 100) from a fixed seed
(``PATROL_FUZZ_RANDOM=1`` draws afresh each run, for a longer hunt by hand).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mav
from typer.testing import CliRunner

from patrol.errors import PatrolError, PlanningError
from tests.conftest import ROOT, SHARED, poly_feature, square_lonlat
from tests.test_audit import FRAME, write_tlog

EXAMPLES = int(os.environ.get("PATROL_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("PATROL_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=list(HealthCheck),
)
LON, LAT = 112.730, 38.415
QGC_PLAN = SHARED / "qgc" / "ArduPilotSITL-ArduCopter.plan"
CATALOGUE = ROOT / "audio_prompts" / "catalogue.toml"


# ---------------------------------------------------------------- outcomes


def ends_well(path: Path, run: Callable[[], Any]) -> Any:
    """Run ``run``: a result, or one PatrolError line naming ``path``; anything else propagates (a failure)."""
    try:
        return run()
    except PatrolError as exc:
        msg = str(exc)
        assert "\n" not in msg and "\r" not in msg, f"a message of more than one line: {msg!r}"
        if not isinstance(exc, PlanningError):  # the pure planner names the compound, not the file
            assert path.name in msg, f"the message does not name {path.name}: {msg!r}"
        assert "internal error" not in msg
        return None


def cli_ends_well(path: Path, args: list[str]) -> None:
    """Run ``patrol ARGS`` in-process: exit 0, or exit 2/3 with one stderr line that names ``path``."""
    from cli import app

    res = CliRunner().invoke(app, args, catch_exceptions=False)
    err = res.stderr.strip().splitlines()
    errors = [line for line in err if line.startswith("patrol: error:") or "internal error" in line]
    assert not any("internal error" in line for line in err), res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    if res.exit_code == 0:
        return
    assert res.exit_code in (2, 3), (res.exit_code, res.stderr)
    assert len(errors) == 1, res.stderr
    assert res.exit_code == 3 or path.name in errors[0], res.stderr  # 3: the audit's coverage shortfall


# ---------------------------------------------------------------- mutations


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 1, 2**31, -(2**63), 2**64, 10**400 // 10**390]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["", "nan", "1e999", "-0", "Polygon", "Point", "gcj02", "12 m", "way/1", "closed", "gate"]),
    st.just([]),
    st.just({}),
    st.lists(st.floats(-200, 200), max_size=3),
    st.lists(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=2), max_size=4),
    st.dictionaries(st.sampled_from(["type", "id", "properties", "coordinates", "index"]), st.integers(), max_size=2),
)


def _json_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _json_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _json_paths(v, (*prefix, i))


@st.composite
def mutated_json(draw: st.DrawFn, doc: Any) -> str:
    """``doc`` with 1-3 nodes replaced by a value of another type, deleted, or wrapped in a list."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_json_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "wrap"]))
        if not path:
            doc = draw(ODD_VALUES) if op != "wrap" else [doc]
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = draw(ODD_VALUES)
    return json.dumps(doc, ensure_ascii=False)


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with 1-4 byte flips, cuts, insertions, deletions or duplicated spans."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            span = bytes(data[pos : pos + draw(st.integers(1, 256))])
            data[pos:pos] = span
    return bytes(data)


XML_TEXT = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["", "nan,nan", "1e999,0", "a,b", "112.73", "112.73,38.41 112.73", "181,91,0", "0,0 0,0 0,0"]),
)


@st.composite
def mutated_xml(draw: st.DrawFn, text: str) -> str:
    """KML with element texts or attribute values rewritten, or an element's tags dropped."""
    for _ in range(draw(st.integers(1, 3))):
        spans = [m.span(1) for m in re.finditer(r">([^<]*)<", text)] + [
            m.span(1) for m in re.finditer(r'="([^"]*)"', text)
        ]
        op = draw(st.sampled_from(["text", "text", "droptag"]))
        if op == "text" and spans:
            a, b = draw(st.sampled_from(spans))
            new = draw(XML_TEXT).replace("<", "&lt;").replace("&", "&amp;").replace('"', "&quot;")
            text = text[:a] + new + text[b:]
        else:
            tags = [m.span() for m in re.finditer(r"</?[A-Za-z][^>]*>", text)]
            a, b = draw(st.sampled_from(tags))
            text = text[:a] + text[b:]
    return text


TOML_VALUES = st.sampled_from(
    [
        '""',
        '"x"',
        "0",
        "-1",
        "99",
        "1.5",
        "nan",
        "inf",
        "true",
        "[]",
        "[1, 2]",
        "{}",
        "{zh = 1}",
        "1979-05-27",
        '"../x"',
    ]
)


@st.composite
def mutated_toml(draw: st.DrawFn, text: str) -> str:
    """A TOML catalogue with values swapped for other types, lines deleted or duplicated, headers changed."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "delete", "dup", "header"]))
        m = re.match(r"^(\s*[\w.\"-]+\s*=\s*)(.*)$", lines[k])
        if op == "value" and m:
            lines[k] = m.group(1) + draw(TOML_VALUES)
        elif op == "delete":
            del lines[k]
        elif op == "dup":
            lines.insert(k, lines[k])
        else:
            lines.insert(k, draw(st.sampled_from(["[prompt]", "[[prompt]]", "[rules]", "[[rules]]", "prompt = 1"])))
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- seeds


def _district_doc() -> dict:
    feats = [poly_feature(square_lonlat(LON + i * 0.003, LAT, 0.0015), id=f"C{i}", tier="guarded") for i in range(2)]
    feats[1]["geometry"]["coordinates"].append(
        [
            [LON + 0.0035, LAT + 0.0004],
            [LON + 0.004, LAT + 0.0004],
            [LON + 0.004, LAT + 0.0008],
            [LON + 0.0035, LAT + 0.0004],
        ]
    )
    feats.append(poly_feature(square_lonlat(LON + 0.006, LAT, 0.0005), id="N1", nofly=True))
    feats.append(
        {
            "type": "Feature",
            "properties": {"hotspot": "gate", "compound": "C0", "name": "north gate"},
            "geometry": {"type": "Point", "coordinates": [LON + 0.0007, LAT + 0.0007]},
        }
    )
    return {"type": "FeatureCollection", "crs": "wgs84", "features": feats}


def _kml_text() -> str:
    ring = " ".join(
        f"{x!r},{y!r},0" for x, y in [(LON, LAT), (LON + 0.002, LAT), (LON + 0.002, LAT + 0.0015), (LON, LAT)]
    )
    hole = " ".join(
        f"{x!r},{y!r}"
        for x, y in [(LON + 0.0005, LAT + 0.0003), (LON + 0.001, LAT + 0.0003), (LON + 0.001, LAT + 0.0008)]
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<ExtendedData><Data name="crs"><value>wgs84</value></Data></ExtendedData>
<Placemark id="K1"><name>Kiln Lane</name>
<ExtendedData><Data name="tier"><value>closed</value></Data><Data name="levels"><value>6</value></Data></ExtendedData>
<MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>{hole}</coordinates></LinearRing></innerBoundaryIs></Polygon></MultiGeometry>
</Placemark>
<Placemark><name>gate</name><ExtendedData><SchemaData><SimpleData name="hotspot">gate</SimpleData>
<SimpleData name="compound">K1</SimpleData></SchemaData></ExtendedData>
<Point><coordinates>{LON + 0.0001!r},{LAT + 0.0001!r},0</coordinates></Point></Placemark>
</Document></kml>
"""


def _tlog_seed(folder: Path) -> bytes:
    """A short .tlog: heartbeats, positions along a line and speaker reports (tests/test_audit.py's writer)."""
    xs = np.linspace(-60.0, 60.0, 25)
    cues = [(0, "PTRL loop 1 0"), (12, "PTRL play 2 1"), (24, "PTRL stop 1 0")]
    return write_tlog(folder / "seed.tlog", xs, np.zeros_like(xs), rate_hz=2.0, cues=cues).read_bytes()


# DataFlash: an FMT record per message type, then records. Formats as ArduPilot logs them (trimmed columns).
_BIN_FORMATS = {
    "FMT": (128, "BBnNZ", "Type,Length,Name,Format,Columns"),
    "MODE": (129, "QMBB", "TimeUS,Mode,ModeNum,Rsn"),
    "POS": (130, "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"),
    "GPS": (131, "QBIHBcLLeffB", "TimeUS,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,U"),
    "PTRL": (132, "QBBB", "TimeUS,Act,Trk,Rep"),
    "BAT": (133, "QffB", "TimeUS,Volt,Curr,RemPct"),
    "MISE": (134, "QHHffff", "TimeUS,CTot,CNum,CId,Prm1,Prm2,Prm3"),
}
_STRUCT = {"B": "B", "M": "b", "n": "4s", "N": "16s", "Z": "64s", "Q": "Q", "L": "i", "f": "f", "I": "I"}
_STRUCT.update({"H": "H", "c": "h", "e": "i"})


def _bin_record(name: str, values: tuple) -> bytes:
    msg_id, fmt, _ = _BIN_FORMATS[name]
    return b"\xa3\x95" + bytes([msg_id]) + struct.pack("<" + "".join(_STRUCT[c] for c in fmt), *values)


def _bin_records() -> list[tuple[str, tuple]]:
    recs: list[tuple[str, tuple]] = []
    for name, (msg_id, fmt, cols) in _BIN_FORMATS.items():
        length = 3 + struct.calcsize("<" + "".join(_STRUCT[c] for c in fmt))
        recs.append(("FMT", (msg_id, length, name.encode(), fmt.encode(), cols.encode())))
    recs.append(("MODE", (1_000_000, 3, 3, 1)))
    recs.append(("PTRL", (1_100_000, 1, 1, 0)))
    for k in range(20):
        t = 1_000_000 + k * 500_000
        lon, lat = FRAME.to_wgs84(-50.0 + 5.0 * k, 0.0)
        recs.append(
            ("GPS", (t, 3, 100_000 + k * 500, 2300, 12, 80, int(lat * 1e7), int(lon * 1e7), 84000, 5.0, 90.0, 1))
        )
        recs.append(("POS", (t, int(lat * 1e7), int(lon * 1e7), 880.0, 40.0, 40.0)))
        if k % 5 == 0:
            recs.append(("BAT", (t, 16.0, 12.0, 90 - k)))
    recs.append(("MISE", (11_000_000, 5, 3, 217, 1.0, 1.0, 0.0)))
    recs.append(("PTRL", (11_100_000, 2, 1, 0)))
    return recs


def _bin_bytes(recs: list[tuple[str, tuple]]) -> bytes:
    return b"".join(_bin_record(n, v) for n, v in recs)


_BIN_EXTREMES = {
    "B": [0, 255],
    "M": [-128, 127],
    "H": [0, 65535],
    "c": [-32768, 32767],
    "I": [0, 2**32 - 1],
    "L": [-(2**31), 2**31 - 1, 0],
    "e": [-(2**31), 2**31 - 1],
    "Q": [0, 2**64 - 1],
    "f": [float("nan"), float("inf"), -float("inf"), 3.0e38, -1.0],
    "n": [b"", b"\xff\xfe"],
    "N": [b"", b"\xff" * 16],
    "Z": [b"", b"\xff" * 64],
}


@st.composite
def mutated_bin(draw: st.DrawFn, recs: list[tuple[str, tuple]]) -> bytes:
    """DataFlash records with a field set to an extreme of its type, records dropped or repeated; then bytes."""
    recs = list(recs)
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(recs) - 1))
        op = draw(st.sampled_from(["field", "field", "drop", "dup"]))
        name, values = recs[k]
        if op == "field":
            fmt = _BIN_FORMATS[name][1]
            j = draw(st.integers(0, len(fmt) - 1))
            new = list(values)
            new[j] = draw(st.sampled_from(_BIN_EXTREMES[fmt[j]]))
            recs[k] = (name, tuple(new))
        elif op == "drop":
            del recs[k]
        else:
            recs.insert(k, recs[k])
    data = _bin_bytes(recs)
    if draw(st.booleans()):
        data = draw(mutated_bytes(data))
    return data


def _tlog_messages(data: bytes) -> list[tuple[int, Any]]:
    link = mav.MAVLink(None)
    out, off = [], 0
    while off + 8 < len(data):
        (ts,) = struct.unpack(">Q", data[off : off + 8])
        n = 12 + data[off + 9] if data[off + 8] == 0xFD else 0
        msg = link.parse_char(data[off + 8 : off + 8 + n])
        out.append((ts, msg))
        off += 8 + n
    return out


_INT_RANGES = {
    "int8_t": (-128, 127),
    "uint8_t": (0, 255),
    "int16_t": (-32768, 32767),
    "uint16_t": (0, 65535),
    "int32_t": (-(2**31), 2**31 - 1),
    "uint32_t": (0, 2**32 - 1),
    "int64_t": (-(2**63), 2**63 - 1),
    "uint64_t": (0, 2**64 - 1),
}
STATUSTEXTS = st.sampled_from(
    ["PTRL loop 1 0", "PTRL play 999999 -1", "PTRL", "PTRL loop x y", "PTRL stop", "PTRL ? 1 1", "PTRL play 1e9 0", ""]
)


@st.composite
def mutated_tlog(draw: st.DrawFn, msgs: list[tuple[int, Any]]) -> bytes:
    """Telemetry messages re-packed (valid CRC) with a field at an extreme of its type, a wild timestamp,
    a speaker report rewritten, messages dropped or repeated; then, sometimes, byte damage."""
    link = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    msgs = [(ts, copy.copy(m)) for ts, m in msgs]
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(msgs) - 1))
        ts, m = msgs[k]
        op = draw(st.sampled_from(["field", "field", "time", "text", "drop", "dup"]))
        if op == "field":
            name = draw(st.sampled_from(m.fieldnames))
            kind = m.fieldtypes[m.fieldnames.index(name)]
            if kind in _INT_RANGES:
                lo, hi = _INT_RANGES[kind]
                value: Any = draw(st.sampled_from([lo, hi, 0, lo + 1, hi - 1]))
            elif kind in ("float", "double"):
                value = draw(st.sampled_from([float("nan"), float("inf"), -float("inf"), 3.0e38, -1.0, 0.0]))
            else:
                value = draw(st.binary(max_size=8))
            if name in m.array_lengths and m.array_lengths[name] and not isinstance(value, bytes):
                value = [value] * m.array_lengths[name]
            setattr(m, name, value)
        elif op == "time":
            msgs[k] = (draw(st.sampled_from([0, 1, 2**63, 2**64 - 1, ts - 10**9, ts + 10**12])), m)
        elif op == "text":
            msgs[k] = (ts, mav.MAVLink_statustext_message(6, draw(STATUSTEXTS).encode()))
        elif op == "drop":
            del msgs[k]
        else:
            msgs.insert(k, msgs[k])
    out = bytearray()
    for ts, m in msgs:
        out += struct.pack(">Q", ts) + m.pack(link, force_mavlink1=False)
    data = bytes(out)
    if draw(st.booleans()):
        data = draw(mutated_bytes(data))
    return data


# ---------------------------------------------------------------- the fuzz


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="patrol-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _fresh(work: Path, name: str, data: bytes | str) -> Path:
    """``data`` as ``work/name`` (a file of that name, rewritten each example)."""
    path = work / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _read_and_plan(path: Path) -> None:
    from patrol.inputs.compounds import read_district
    from patrol.plan.pipeline import plan_patrol
    from patrol.types import PatrolParams

    district = ends_well(path, lambda: read_district([path]))
    if district is not None:
        ends_well(path, lambda: plan_patrol(district, PatrolParams(alt_m=35.0, prompt_s=6.0)))


@FUZZ
@given(
    data=st.one_of(mutated_json(_district_doc()), mutated_json(_district_doc()).map(str.encode).flatmap(mutated_bytes))
)
def test_geojson_fuzz_ends_in_a_plan_or_one_line(work, data):
    _read_and_plan(_fresh(work, "district.geojson", data))


def test_a_feature_whose_properties_is_not_an_object_is_named(work):
    doc = _district_doc()
    doc["features"][1]["properties"] = 7
    path = _fresh(work, "props.geojson", json.dumps(doc))
    cli_ends_well(path, ["plan", str(path), "-o", str(work / "pkg-props"), "--speaker", "none"])
    from patrol.inputs.compounds import read_district

    with pytest.raises(PatrolError, match=r"props.geojson: feature #2 has properties 7"):
        read_district([path])


@FUZZ
@given(data=st.one_of(mutated_xml(_kml_text()), mutated_bytes(_kml_text().encode())))
def test_kml_fuzz_ends_in_a_plan_or_one_line(work, data):
    _read_and_plan(_fresh(work, "district.kml", data))


def test_the_cli_plans_or_names_the_file_for_a_fuzzed_district(work):
    """A few mutated districts through `patrol plan` itself (exit status and the one stderr line)."""
    import random

    rng = random.Random(14)
    doc = _district_doc()
    for k in range(6):
        bad = copy.deepcopy(doc)
        feat = bad["features"][rng.randrange(len(bad["features"]))]
        feat[rng.choice(["properties", "geometry", "type"])] = rng.choice([3, None, [], "x", {"type": "Polygon"}])
        path = _fresh(work, f"cli-{k}.geojson", json.dumps(bad))
        cli_ends_well(path, ["plan", str(path), "-o", str(work / f"pkg-cli-{k}"), "--speaker", "none", "--force"])


@pytest.fixture(scope="module")
def package(work: Path) -> Path:
    """A mission package of the seed district, planned without a speaker (fast)."""
    path = _fresh(work, "seed.geojson", json.dumps(_district_doc()))
    out = work / "seed-pkg"
    cli_ends_well(path, ["plan", str(path), "-o", str(out), "--speaker", "none", "--alt-m", "35"])
    assert (out / "sortie-01.plan").exists()
    return out


def _package_docs(package: Path) -> dict[str, Any]:
    return {n: json.loads((package / n).read_text()) for n in ("manifest.json", "route.geojson", "sortie-01.plan")}


@FUZZ
@given(data=st.data())
def test_package_fuzz_ends_in_a_report_or_one_line(work, package, data):
    from patrol.package.check import check_package

    docs = _package_docs(package)
    name = data.draw(st.sampled_from(sorted(docs)))
    text = data.draw(
        st.one_of(mutated_json(docs[name]), mutated_json(docs[name]).map(str.encode).flatmap(mutated_bytes))
    )
    pkg = work / "fuzz-pkg"
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(package, pkg)
    path = _fresh(pkg, name, text)
    ends_well(path, lambda: check_package(pkg))


@FUZZ
@given(data=st.data())
def test_qgc_plan_fuzz_ends_in_a_sortie_or_one_line(work, data):
    from patrol.package.reader import read_sortie

    seed = json.loads(QGC_PLAN.read_text()) if QGC_PLAN.exists() else {"fileType": "Plan", "mission": {"items": []}}
    text = data.draw(st.one_of(mutated_json(seed), mutated_json(seed).map(str.encode).flatmap(mutated_bytes)))
    path = _fresh(work, "qgc.plan", text)
    ends_well(path, lambda: read_sortie(path, 1))


@FUZZ
@given(data=st.one_of(mutated_toml(CATALOGUE.read_text()), mutated_bytes(CATALOGUE.read_bytes())))
def test_catalogue_fuzz_ends_in_a_catalogue_or_one_line(work, data):
    from patrol.speech.build import choose_voices
    from patrol.speech.catalogue import read_catalogue

    path = _fresh(work, "catalogue.toml", data)
    cat = ends_well(path, lambda: read_catalogue(path))
    if cat is not None:
        ends_well(path, lambda: choose_voices(cat, {}))


@pytest.fixture(scope="module")
def tlog_msgs(work: Path) -> list[tuple[int, Any]]:
    return _tlog_messages(_tlog_seed(work))


def _read_and_audit(path: Path, package: Path) -> None:
    from patrol.package.reader import read_package
    from patrol.review.audit import audit_view, report, run_audit
    from patrol.review.flightlog import read_log

    log = ends_well(path, lambda: read_log(path))
    if log is not None:
        pkg = audit_view(read_package(package))
        audits = ends_well(path, lambda: run_audit([log], pkg, True))
        if audits is not None:
            report(audits, pkg, [log], 0.9)


@FUZZ
@given(data=st.data())
def test_tlog_fuzz_ends_in_an_audit_or_one_line(work, package, tlog_msgs, data):
    raw = data.draw(mutated_tlog(tlog_msgs))
    _read_and_audit(_fresh(work, "flight.tlog", raw), package)


@FUZZ
@given(data=mutated_bin(_bin_records()))
def test_bin_fuzz_ends_in_an_audit_or_one_line(work, package, data):
    _read_and_audit(_fresh(work, "flight.bin", data), package)


def test_the_seed_logs_read_as_flights(work, tlog_msgs):
    """The unmutated seeds are good logs: the fuzz starts from inputs that read."""
    from patrol.review.flightlog import read_log

    tlog = read_log(_fresh(work, "seed-ok.tlog", _tlog_seed(work)))
    binlog = read_log(_fresh(work, "seed-ok.bin", _bin_bytes(_bin_records())))
    assert len(tlog.t_s) == 25 and [p.action for p in tlog.plays] == ["loop", "play", "stop"]
    assert len(binlog.t_s) == 20 and {p.action for p in binlog.plays} == {"loop", "stop"}


def test_audit_cli_names_a_damaged_log(work, package):
    """`patrol audit` on a log cut mid-message and one of pure garbage: a report or one line."""
    seed = _tlog_seed(work)
    for k, raw in enumerate([seed[: len(seed) // 2 + 3], b"\xfd" * 300, _bin_bytes(_bin_records())[:200]]):
        path = _fresh(work, f"damaged-{k}{'.bin' if k == 2 else '.tlog'}", raw)
        cli_ends_well(path, ["audit", str(path), "-p", str(package), "-o", str(work / f"audit-{k}"), "--force"])
