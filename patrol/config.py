"""``patrol.toml``: the one loader of patrol's settings file, its schema, and the profiles a plan is made from.

The file is ``--config FILE``, else ``./patrol.toml``, else ``$XDG_CONFIG_HOME/patrol/config.toml``
(``~/.config/patrol/config.toml``). Besides the ``[ledger]`` table (:mod:`patrol.ledger.config`) it holds named
profiles::

    [vehicle.m300]                 # the airframe: battery, speeds, MAVLink
    endurance_min = 25
    reserve_pct = 20
    max_speed_mps = 10
    sysid = 1
    connect = "tcp:192.168.4.1:5760"

    [speaker.mp130]                # the loudspeaker and its cues
    speaker_db = 100               # level at 1 m
    encoding = "script"            # script, relay, servo or none (plan's --speaker)
    lang = "zh"

    [district.xinzhou]             # the files and limits of one district; paths relative to this file
    compounds = ["geofences/sample_district.geojson"]
    buildings = ["geofences/sample_buildings.geojson"]
    alt_m = 40
    max_alt_m = 120

Keys carry their unit (``alt_m``, ``endurance_min``); a value is a number or a string with that same unit
(``"40 m"``, ``"25 min"``, ``"20 %"``, ``"10 m/s"``, ``"100 dB"``); another unit is refused. Command-line options
override a profile (:func:`resolve`), and the manifest records where every value came from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from patrol.errors import InputError
from patrol.i18n import N_, _

CONFIG_NAME = "patrol.toml"
KINDS = ("district", "vehicle", "speaker")
# Where a setting came from besides a profile (its "kind.NAME"), as the manifest records it; translated when shown.
COMMAND_LINE, DEFAULT = N_("command line"), N_("default")
# The units a key's suffix names, and how a value string may spell them.
_UNITS = {
    "_m": ("m",),
    "_min": ("min",),
    "_pct": ("%", "pct"),
    "_mps": ("m/s", "mps"),
    "_db": ("db",),
}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?|\.\d+)\s*(\S*)\s*$")


def _unit_of(key: str) -> tuple[str, ...] | None:
    for suffix, spellings in _UNITS.items():
        if key.endswith(suffix):
            return spellings
    return None


class _Table(BaseModel):
    """A table of the file: unknown keys refused, unit strings read as numbers of the key's unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _units(cls, v: Any, info: ValidationInfo) -> Any:
        units = _unit_of(info.field_name or "")
        if units is None or not isinstance(v, str):
            return v
        m = _NUMBER_UNIT.match(v)
        if not m:
            raise ValueError(_("{v} is not a number of {units}").format(v=repr(v), units=units[0]))
        number, unit = m.groups()
        if unit and unit.lower() not in units:
            raise ValueError(
                _("bad unit {unit}: {field_name} is in {units} (give e.g. {number} {units})").format(
                    unit=repr(unit), field_name=info.field_name, units=units[0], number=number
                )
            )
        return float(number)


Pairs = str | dict[str, int]


class LedgerTable(_Table):
    """``[ledger]``: where the campaign ledger is and who writes (read by :mod:`patrol.ledger.config`)."""

    url: str | None = None
    operator: str | None = None


class VehicleProfile(_Table):
    """``[vehicle.NAME]``: the airframe's battery, speeds and MAVLink address."""

    endurance_min: float | None = Field(None, gt=0, le=600)
    reserve_pct: float | None = Field(None, ge=0, lt=100)
    max_speed_mps: float | None = Field(None, gt=0, le=30)
    speed_mps: float | None = Field(None, gt=0, le=30)
    sysid: int | None = Field(None, ge=1, le=255)
    connect: str | None = None


class FleetVehicleTable(_Table):
    """``[ID]`` of a vehicles file (docs/fleet.md): one vehicle of a fleet, for ``patrol plan --fleet-file`` (its
    launch point, battery, speeds, speaker level) and ``patrol fly --fleet`` (its link); ``vehicle`` names a
    ``[vehicle.NAME]`` profile of patrol.toml whose keys it takes where the table gives none."""

    vehicle: str | None = None
    launch: str | None = None  # LAT,LON[:CRS] (WGS-84 unless a CRS is named), as --home
    endurance_min: float | None = Field(None, gt=0, le=600)
    reserve_pct: float | None = Field(None, ge=0, lt=100)
    max_speed_mps: float | None = Field(None, gt=0, le=30)
    transit_speed_mps: float | None = Field(None, gt=0, le=30)
    speaker_db: float | None = Field(None, gt=40, le=160)
    sysid: int | None = Field(None, ge=1, le=255)
    connect: str | None = None
    signing_key: str | None = None


class SpeakerProfile(_Table):
    """``[speaker.NAME]``: the loudspeaker's level, its cue encoding and maps, and the warnings' language."""

    speaker_db: float | None = Field(None, gt=40, le=160)
    snr_db: float | None = Field(None, ge=0, le=40)
    encoding: Literal["script", "relay", "servo", "none"] | None = None
    relay: Pairs | None = None
    servo_channel: int | None = Field(None, ge=1, le=32)
    servo_pwm: Pairs | None = None
    lang: Literal["zh", "en"] | None = None
    prompts: str | None = None
    hotspot_repeats: int | None = Field(None, ge=1, le=20)


class DistrictProfile(_Table):
    """``[district.NAME]``: compound, building and no-fly files (relative to the config file), CRS and limits."""

    compounds: list[str] | None = None
    buildings: list[str] | None = None
    nofly: list[str] | None = None
    crs: Literal["wgs84", "gcj02", "bd09"] | None = None
    home: str | None = None
    alt_m: float | None = Field(None, gt=0, le=500)
    transit_alt_m: float | None = Field(None, gt=0, le=500)
    max_alt_m: float | None = Field(None, gt=0, le=500)
    clearance_m: float | None = Field(None, ge=0, le=200)
    ambient_db: float | None = Field(None, ge=0, le=120)
    nofly_buffer_m: float | None = Field(None, ge=0, le=2000)
    fence_margin_m: float | None = Field(None, ge=0, le=2000)


class PatrolConfig(_Table):
    """The whole file."""

    district: dict[str, DistrictProfile] = {}
    vehicle: dict[str, VehicleProfile] = {}
    speaker: dict[str, SpeakerProfile] = {}
    ledger: LedgerTable | None = None


# Profile keys that are another plan option's name (the rest are the option's own name).
OPTION_OF = {"encoding": "speaker"}
PATH_KEYS = ("compounds", "buildings", "nofly", "prompts")


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The settings file: ``explicit`` (which must exist), else ``./patrol.toml``, else the user's config.toml."""
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise InputError(_("--config {p}: no such file; give a patrol.toml (see docs/profiles.md)").format(p=p))
        return p
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for path in (Path(CONFIG_NAME), xdg / "patrol" / "config.toml"):
        if path.is_file():
            return path
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML document; ``InputError`` naming the file for one that cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise InputError(_("{path}: unreadable config ({e}); fix it or remove it").format(path=path, e=e)) from None


def _where(loc: tuple[Any, ...]) -> str:
    """``[vehicle.m300] endurance_min`` for a pydantic error location."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] in KINDS:
        table, rest = f"[{parts[0]}.{parts[1]}]", parts[2:]
    elif parts and parts[0] == "ledger":
        table, rest = "[ledger]", parts[1:]
    else:
        table, rest = "", parts
    return " ".join(x for x in (table, ".".join(rest[:1])) if x)


def schema_problems(doc: dict[str, Any], path: Path) -> list[str]:
    """One line per problem the schema finds in ``doc`` (unknown keys, bad units, values out of range).

    >>> for line in schema_problems({"vehicle": {"m300": {"endurance_min": "30 s", "colour": 1}}}, Path("p.toml")):
    ...     print(line)
    p.toml: [vehicle.m300] endurance_min: bad unit 's': endurance_min is in min (give e.g. 30 min)
    p.toml: [vehicle.m300] colour: unknown key (see docs/profiles.md for the keys of [vehicle.NAME])
    """
    try:
        PatrolConfig.model_validate(doc)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "dict[str,int]")))
            where = _where(loc)
            if err["type"] == "extra_forbidden":
                kind = f"[{loc[0]}.NAME]" if loc and loc[0] in KINDS else _("the file")
                lines.append(
                    _("{path}: {where}: unknown key (see docs/profiles.md for the keys of {kind})").format(
                        path=path, where=where, kind=kind
                    )
                )
            else:
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{path}: {where}: {msg}")
        return list(dict.fromkeys(lines))
    return []


def valid_profiles(doc: dict[str, Any]) -> PatrolConfig:
    """The profiles of ``doc`` that validate on their own (the checks beyond the schema look at these)."""
    models: dict[str, type[_Table]] = {"district": DistrictProfile, "vehicle": VehicleProfile}
    models["speaker"] = SpeakerProfile
    good: dict[str, dict[str, _Table]] = {}
    for kind, model in models.items():
        tables = doc.get(kind)
        good[kind] = {}
        for name, table in (tables if isinstance(tables, dict) else {}).items():
            try:
                good[kind][name] = model.model_validate(table)
            except ValidationError:
                continue
    return PatrolConfig.model_validate(good)


def load_config(explicit: str | Path | None = None) -> tuple[PatrolConfig, Path | None]:
    """The validated settings file and its path (an empty config and None where there is none).

    ``InputError`` with every problem of the file, ``; `` between them, when it does not validate.
    """
    path = find_config(explicit)
    if path is None:
        return PatrolConfig(), None
    doc = read_toml(path)
    problems = schema_problems(doc, path)
    if problems:
        text = _("{problems} (patrol config check --config {path} lists them)")
        raise InputError(text.format(problems="; ".join(problems), path=path))
    return PatrolConfig.model_validate(doc), path


@dataclass(frozen=True)
class Resolved:
    """Every option's value and where it came from: ``command line``, ``default`` or a profile (``vehicle.m300``)."""

    values: dict[str, Any]
    sources: dict[str, str]
    config: Path | None = None
    profiles: dict[str, str] = field(default_factory=dict)


def _pairs(v: Pairs) -> str:
    """A relay or PWM map as the command line spells it: ``{"1": 0, "3": 1}`` -> ``1:0,3:1``."""
    return v if isinstance(v, str) else ",".join(f"{k}:{n}" for k, n in v.items())


def _near(path: str, base: Path) -> str:
    """A profile's file path: relative to the config file's folder, shown relative to the working folder."""
    p = base / path
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def profile_values(profile: _Table, base: Path) -> dict[str, Any]:
    """The plan options a profile sets (option names; paths made relative to ``base``, the file's folder)."""
    out: dict[str, Any] = {}
    for key, v in profile.model_dump(exclude_none=True).items():
        if key in PATH_KEYS:
            v = [Path(_near(x, base)) for x in v] if isinstance(v, list) else Path(_near(v, base))
        elif key in ("relay", "servo_pwm"):
            v = _pairs(v)
        out[OPTION_OF.get(key, key)] = v
    return out


def resolve(
    options: dict[str, Any], given: set[str], cfg: PatrolConfig, path: Path | None, picks: dict[str, str | None]
) -> Resolved:
    """The options of a command with the picked profiles filled in where the command line gave nothing.

    ``options`` are the command's values (defaults included), ``given`` the names typed on the command line,
    ``picks`` the profile named for each kind (``{"vehicle": "m300", ...}``).

    >>> cfg = PatrolConfig.model_validate({"vehicle": {"m300": {"endurance_min": 30, "reserve_pct": "25 %"}}})
    >>> r = resolve({"endurance_min": 25.0, "reserve_pct": 20.0, "alt_m": 40.0}, {"reserve_pct"}, cfg,
    ...             Path("patrol.toml"), {"vehicle": "m300"})
    >>> r.values, r.sources
    ({'endurance_min': 30.0, 'reserve_pct': 20.0, 'alt_m': 40.0}, \
{'endurance_min': 'vehicle.m300', 'reserve_pct': 'command line', 'alt_m': 'default'})
    """
    values = dict(options)
    sources = {k: (COMMAND_LINE if k in given else DEFAULT) for k in options}
    chosen = {}
    for kind in KINDS:
        name = picks.get(kind)
        if not name:
            continue
        table: dict[str, _Table] = getattr(cfg, kind)
        if path is None:
            raise InputError(
                _(
                    "--{value} {name}: no {config_name} in this folder (nor "
                    "~/.config/patrol/config.toml); give --config FILE (docs/profiles.md)"
                ).format(value="speaker-profile" if kind == "speaker" else kind, name=name, config_name=CONFIG_NAME)
            )
        if name not in table:
            have = ", ".join(sorted(table)) or "none"
            raise InputError(
                _("{path}: no [{kind}.{name}] profile (profiles of that kind there: {have})").format(
                    path=path, kind=kind, name=name, have=have
                )
            )
        chosen[kind] = name
        base = (path or Path(CONFIG_NAME)).parent
        for key, v in profile_values(table[name], base).items():
            if key in options and key not in given:
                values[key], sources[key] = v, f"{kind}.{name}"
    return Resolved(values, sources, path, chosen)
