"""A vehicles file (``patrol plan --fleet-file``, ``patrol fly --fleet``): one ``[ID]`` table per vehicle.

::

    [V1]
    vehicle = "m300a"              # a [vehicle.NAME] profile of patrol.toml: its endurance, reserve, speeds, sysid
    launch = "38.4150,112.7230"    # LAT,LON (WGS-84; LAT,LON:gcj02 as --home); default: the plan's home
    connect = "tcp:192.168.1.21:5760"
    [V2]
    endurance_min = 18
    reserve_pct = 20
    max_speed_mps = 8
    transit_speed_mps = 12
    speaker_db = 94                # level at 1 m; default: the plan's
    sysid = 2
    connect = "/dev/ttyUSB1:57600"

A key of the table wins over the profile's, the profile's over the plan's own value. The manifest's ``fleet``
section records each vehicle's resolved values and where each came from.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tomllib
from pydantic import ValidationError

from patrol.config import FleetVehicleTable, VehicleProfile
from patrol.errors import InputError
from patrol.i18n import _
from patrol.inputs.coords import parse_point
from patrol.types import FleetVehicle, Vehicle

KEYS = tuple(FleetVehicleTable.model_fields)


def read_tables(path: Path) -> dict[str, FleetVehicleTable]:
    """The file's vehicle tables by id, validated (unknown keys, bad units, values out of range, a key outside
    any table, a sysid used twice): :class:`InputError` naming the file, the vehicle and the key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(_("{path}: cannot read the vehicles file ({why})").format(path=path, why=e.strerror)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        if "twice" in str(e):
            raise InputError(
                _("{path}: a vehicle id is used twice ({why}); give each vehicle its own [ID]").format(path=path, why=e)
            ) from None
        raise InputError(_("{path}: not valid TOML ({why})").format(path=path, why=e)) from None
    out: dict[str, FleetVehicleTable] = {}
    for vid, table in doc.items():
        if not isinstance(table, dict) or not vid.strip():
            raise InputError(
                _("{path}: {key} is not a vehicle: give each vehicle a table named by its id, e.g. [V1]").format(
                    path=path, key=repr(vid)
                )
            )
        try:
            out[vid] = FleetVehicleTable.model_validate(table)
        except ValidationError as e:
            err = e.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "?"
            if err["type"] == "extra_forbidden":
                raise InputError(
                    _("{path}: [{vehicle}] has unknown key {key}; the keys are {keys}").format(
                        path=path, vehicle=vid, key=repr(key), keys=", ".join(KEYS)
                    )
                ) from None
            why = err["msg"].removeprefix("Value error, ")
            raise InputError(f"{path}: [{vid}] {key}: {why}") from None
    seen: dict[int, str] = {}
    for vid, t in out.items():
        if t.sysid is not None and t.sysid in seen:
            raise InputError(
                _(
                    "{path}: [{vehicle}] sysid = {sysid} is [{other}]'s too; give each vehicle its own MAVLink id"
                ).format(path=path, vehicle=vid, sysid=t.sysid, other=seen[t.sysid])
            )
        if t.sysid is not None:
            seen[t.sysid] = vid
    return out


def read_vehicles(
    path: Path, profiles: dict[str, VehicleProfile], plan: Vehicle, speaker_db: float
) -> tuple[FleetVehicle, ...]:
    """The vehicles of the file resolved for planning: each key from the vehicle's table, else its patrol.toml
    profile (``vehicle = "NAME"``), else the plan's (``plan``, ``speaker_db``; the launch point: the plan's
    home). The transit speed defaults to the top speed, as ``--max-speed-mps`` sets both. One line naming the
    file and the vehicle for a bad table, an unknown profile, a bad launch point, an empty file."""
    tables = read_tables(path)
    if not tables:
        raise InputError(_("{path}: no vehicles; add a table per vehicle, e.g. [V1]").format(path=path))
    out = []
    for vid, t in tables.items():
        prof = None
        if t.vehicle is not None:
            if t.vehicle not in profiles:
                have = ", ".join(sorted(profiles)) or "none"
                raise InputError(
                    _(
                        "{path}: [{vehicle}] vehicle = {name} is not a [vehicle.NAME] profile of patrol.toml ({have})"
                    ).format(path=path, vehicle=vid, name=repr(t.vehicle), have=have)
                )
            prof = profiles[t.vehicle]
        sources: dict[str, str] = {}

        def pick(
            key: str, default: Any, table: FleetVehicleTable = t, profile: Any = prof, sources: dict = sources
        ) -> Any:
            got = getattr(table, key)
            if got is not None:
                sources[key] = path.name
                return got
            if profile is not None and getattr(profile, key, None) is not None:
                sources[key] = f"vehicle.{table.vehicle}"
                return getattr(profile, key)
            sources[key] = "plan"
            return default

        endurance = pick("endurance_min", plan.endurance_min)
        reserve = pick("reserve_pct", plan.reserve_pct)
        top = pick("max_speed_mps", plan.max_speed_mps)
        transit = t.transit_speed_mps
        sources["transit_speed_mps"] = path.name if transit is not None else sources["max_speed_mps"]
        airframe = Vehicle.with_top_speed(top, endurance, reserve, plan.wind_mps)
        if transit is not None:
            airframe = dataclasses.replace(airframe, transit_speed_mps=transit)
        level = pick("speaker_db", speaker_db)
        sysid = pick("sysid", None)
        lat = lon = None
        if t.launch is not None:
            lat, lon, _crs = parse_point(t.launch, f"{path}: [{vid}] launch")
        sources["launch"] = path.name if t.launch is not None else "plan"
        out.append(
            FleetVehicle(
                id=vid,
                vehicle=airframe,
                speaker_db=float(level),
                launch_lon=lon,
                launch_lat=lat,
                sysid=sysid,
                profile=t.vehicle,
                sources=tuple(sorted(sources.items())),
                origin=str(path),
            )
        )
    taken: dict[int, str] = {}
    for v in out:  # a sysid a profile gave counts too
        if v.sysid is not None and v.sysid in taken:
            raise InputError(
                _(
                    "{path}: [{vehicle}] sysid = {sysid} is [{other}]'s too; give each vehicle its own MAVLink id"
                ).format(path=path, vehicle=v.id, sysid=v.sysid, other=taken[v.sysid])
            )
        if v.sysid is not None:
            taken[v.sysid] = v.id
    return tuple(out)
