"""Telemetry logs of flights over chosen compounds of a package, at chosen UTC times: a vehicle flying the
planned lanes of those compounds (from route.geojson) at patrol speed and altitude, with GPS time
(SYSTEM_TIME) so the ledger knows when, and the speaker applet's report that a warning loops."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, shape

from patrol.geo import LocalFrame


def lanes_track(package: Path, codes: list[str], speed_mps: float = 8.0, rate_hz: float = 2.0) -> tuple:
    """(lon, lat) samples along the planned lanes of ``codes`` (in that order), ``rate_hz`` per second."""
    man = json.loads((package / "manifest.json").read_text())
    frame = LocalFrame(man["frame"]["lon0"], man["frame"]["lat0"])
    feats = json.loads((package / "route.geojson").read_text())["features"]
    pts: list[tuple[float, float]] = []
    for code in codes:
        (lanes,) = [f for f in feats if f["properties"]["layer"] == "lanes" and f["properties"].get("compound") == code]
        geom = frame.geom_to_local(shape(lanes["geometry"]))
        for k, line in enumerate(getattr(geom, "geoms", [geom])):
            cs = list(line.coords)
            pts += cs if k % 2 == 0 else cs[::-1]
    path = LineString(pts)
    d = np.arange(0.0, path.length, speed_mps / rate_hz)
    xy = np.array([path.interpolate(v).coords[0] for v in d])
    lon, lat = frame.to_wgs84(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)


def write_flight(
    path: Path, package: Path, codes: list[str], start_unix: float, sysid: int = 1, alt_m: float = 40.0
) -> Path:
    """A .tlog of a flight over ``codes``'s lanes starting at ``start_unix`` (UTC seconds), 2 Hz positions."""
    lon, lat = lanes_track(package, codes)
    link = mav.MAVLink(None, srcSystem=sysid, srcComponent=1)
    out = bytearray()

    def put(t: float, msg: object) -> None:
        out.extend(struct.pack(">Q", int((start_unix + t) * 1e6)) + msg.pack(link))

    boot_ms = 60_000
    for k in range(len(lon)):
        t = k / 2.0
        ms = boot_ms + int(t * 1000)
        if k % 2 == 0:
            put(t, mav.MAVLink_heartbeat_message(2, 3, 128 | 1, 3, 4, 3))
            put(t, mav.MAVLink_system_time_message(int((start_unix + t) * 1e6), ms))
        if k == 0:
            put(t, mav.MAVLink_statustext_message(6, b"PTRL loop 1 0"))
        put(t, mav.MAVLink_global_position_int_message(ms, int(lat[k] * 1e7), int(lon[k] * 1e7), 840_000,
                                                       int(alt_m * 1000), 0, 0, 0, 0))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path
