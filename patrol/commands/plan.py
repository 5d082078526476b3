"""``patrol plan``: compound polygons to a mission package (sorties, fences, rally points, cues, clips)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patrol.commands.options import (
    CheckOpt,
    ConfigOpt,
    EngineOpt,
    EveryOpt,
    FleetFileOpt,
    ForceOpt,
    LedgerOpt,
    MaxCerOpt,
    NoCacheOpt,
    OperatorOpt,
    OutDirOpt,
    SeparationOpt,
    StartOpt,
    SwapOpt,
    VehiclesOpt,
    cache_report,
    check_report,
    fleet_params,
    one_line_errors,
    say,
    warn,
)
from patrol.i18n import _

if TYPE_CHECKING:
    from patrol.speech.broadcast import Broadcast
    from patrol.speech.cache import PromptCache
    from patrol.types import PatrolParams


def _opt(name: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(name, help=help)


CompoundsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="GeoJSON or KML files of compound polygons and hotspots (FILE or FILE:CRS; default: --district's).",
        show_default=False,
    ),
]
DistrictOpt = Annotated[
    str | None, _opt("--district", "District profile of patrol.toml: files, CRS, home, altitudes, limits.")
]
VehicleOpt = Annotated[str | None, _opt("--vehicle", "Vehicle profile of patrol.toml: endurance, reserve, speeds.")]
# Not --speaker: that option has always meant the cue encoding (script, relay, servo, none), and scripts use it.
SpeakerProfileOpt = Annotated[
    str | None,
    _opt("--speaker-profile", "Speaker profile of patrol.toml: level at 1 m, cue encoding and maps, language."),
]
NoflyOpt = Annotated[list[Path] | None, _opt("--nofly", "GeoJSON/KML of no-fly zones, FILE[:CRS] (repeatable).")]
BuildingsOpt = Annotated[
    list[Path] | None, _opt("--buildings", "GeoJSON/KML footprints with height or building:levels (repeatable).")
]
ClearanceOpt = Annotated[float, _opt("--clearance-m", "Vertical clearance over any roof, m.")]
HomeOpt = Annotated[
    str | None, _opt("--home", "Launch point LAT,LON[:CRS] (default: a clear point mid-district; CRS as --crs).")
]
CrsOpt = Annotated[
    str | None,
    _opt(
        "--crs",
        "Coordinates of every input and --home: wgs84 (GPS, OSM, Tianditu), gcj02 (Amap, Tencent, Ovital 9.3+ KML)"
        " or bd09 (Baidu); FILE:CRS or a file's own crs member overrides it (docs/inputs.md).",
    ),
]
AltOpt = Annotated[float, _opt("--alt-m", "Patrol altitude above home, m.")]
TransitAltOpt = Annotated[float | None, _opt("--transit-alt-m", "Altitude between compounds, m (default: --alt-m).")]
MaxAltOpt = Annotated[float, _opt("--max-alt-m", "Altitude ceiling (fence), m.")]
SpeakerDbOpt = Annotated[float, _opt("--speaker-db", "Speaker level at 1 m, dB.")]
AmbientOpt = Annotated[float, _opt("--ambient-db", "Street noise at ground level, dB.")]
SnrOpt = Annotated[float, _opt("--snr-db", "Margin over ambient for intelligible speech, dB.")]
RadiusOpt = Annotated[float | None, _opt("--radius-m", "Audible ground radius, m (overrides the model).")]
PromptSOpt = Annotated[
    float | None, _opt("--prompt-s", "Time in range a warning needs, s (default: from the clips, or 6).")
]
PromptsOpt = Annotated[Path | None, _opt("--prompts", "Prompt catalogue (TOML; default: the shipped one).")]
SpeakerOpt = Annotated[str, _opt("--speaker", "Cue encoding: script (Lua applet), relay, servo, or none.")]
LangOpt = Annotated[str, _opt("--lang", "Language of the warnings: zh or en.")]
RelayOpt = Annotated[str, _opt("--relay", "--speaker relay: TRACK:RELAY pairs, e.g. 1:0,3:1.")]
ServoChannelOpt = Annotated[int, _opt("--servo-channel", "--speaker servo: output channel.")]
ServoPwmOpt = Annotated[str, _opt("--servo-pwm", "--speaker servo: TRACK:PWM pairs, e.g. 1:1100,3:1300.")]
HotspotRepeatsOpt = Annotated[int, _opt("--hotspot-repeats", "Repeats of the warning at each hotspot loiter.")]
SpeedOpt = Annotated[float | None, _opt("--speed-mps", "Patrol speed, m/s (overrides the choice).")]
SpacingOpt = Annotated[float | None, _opt("--spacing-m", "Lane spacing, m (overrides the choice).")]
MaxSpeedOpt = Annotated[float, _opt("--max-speed-mps", "Vehicle's top patrol speed, m/s.")]
EnduranceOpt = Annotated[float, _opt("--endurance-min", "Battery endurance, minutes.")]
ReserveOpt = Annotated[float, _opt("--reserve-pct", "Battery reserve kept unused, percent.")]
WindOpt = Annotated[
    float, _opt("--wind-mps", "Expected wind or gust peak, m/s, charged as a headwind on every leg (docs/planning.md).")
]
PerimeterOpt = Annotated[bool, _opt("--perimeter", "Fly a perimeter loop before the lanes.")]
OverrunOpt = Annotated[
    float | None, _opt("--overrun-m", "Run lanes on past the compound edge, m (default: what edge residents need).")
]
ShadowLoitersOpt = Annotated[
    int,
    _opt(
        "--shadow-loiters",
        "Most hovers added to a compound over open ground the buildings' shadow leaves without a whole warning "
        "(0: none; docs/acoustics.md).",
    ),
]
FenceMarginOpt = Annotated[float, _opt("--fence-margin-m", "Inclusion fence margin around the route, m.")]
NoflyBufferOpt = Annotated[float, _opt("--nofly-buffer-m", "Distance kept from no-fly zones, m.")]
DueOpt = Annotated[bool, _opt("--due", "Plan only the compounds the ledger says are due (see --every, patrol status).")]


def _broadcast(
    speaker: str,
    lang: str,
    prompts: Path | None,
    relay: str,
    servo_channel: int,
    servo_pwm: str,
    cache: PromptCache,
    engine: str | None,
    check: bool,
    max_cer: float,
    snr_db: float,
) -> tuple[Broadcast | None, list[str]]:
    """The checked clips and cue encoder for ``--speaker`` (None for ``none``) and the notes to print."""
    from patrol.speech.broadcast import check_encoding, prepare_broadcast
    from patrol.speech.check import make_checker
    from patrol.speech.engines import parse_engines

    check_encoding(speaker)
    if speaker == "none":
        return None, []
    checker, why = make_checker(check, max_cer, snr_db, (lang,), cache.root.parent if cache.enabled else None)
    asked = parse_engines(engine)
    bc = prepare_broadcast(prompts, lang, speaker, relay, servo_channel, servo_pwm, cache, asked, checker)
    return bc, [*bc.notes, *([why] if why else [])]


# Options that are not recorded in the manifest's settings: where it is written, and who and which ledger.
_UNRECORDED = ("output", "force", "no_cache", "ledger", "operator")
_UNRECORDED += ("vehicles", "swap_min", "separation_m", "start", "fleet_file")  # the fleet section records them


def _settings(ctx: typer.Context, values: dict[str, Any]) -> tuple[SimpleNamespace, dict[str, Any]]:
    """The plan's options with the picked profiles filled in, and the manifest's record of where each came from."""
    from patrol.config import PatrolConfig, load_config, resolve
    from patrol.errors import InputError
    from patrol.paths import portable

    values = {k: v for k, v in values.items() if k in ctx.params}
    picks = {"district": values.pop("district"), "vehicle": values.pop("vehicle")}
    picks["speaker"] = values.pop("speaker_profile")
    config = values.pop("config")
    typed = ("COMMANDLINE", "ENVIRONMENT")  # by name: typer may bring its own click's ParameterSource
    given = {k for k in values if getattr(ctx.get_parameter_source(k), "name", "") in typed}
    cfg, path = load_config(config) if config or any(picks.values()) else (PatrolConfig(), None)
    r = resolve(values, given, cfg, path, picks)
    if not r.values["compounds"]:
        raise InputError(_("no compounds: give the compound files (COMPOUNDS) or --district NAME of a patrol.toml"))
    record = {
        "config": portable(path) if path else None,
        "profiles": r.profiles,
        "values": {
            k: {"value": _jsonable(v), "from": r.sources[k]} for k, v in r.values.items() if k not in _UNRECORDED
        },
    }
    units = _fleet_file(values.get("fleet_file"), cfg if path else load_config(config)[0], r.values)
    fleet = fleet_params(r.values["vehicles"], r.values["swap_min"], r.values["separation_m"], r.values["start"], units)
    return SimpleNamespace(**r.values, fleet=fleet), record


def _fleet_file(path: Path | None, cfg: Any, o: dict[str, Any]) -> tuple[Any, ...]:
    """The vehicles of ``--fleet-file`` resolved against patrol.toml's vehicle profiles and the plan's own
    airframe and speaker level (empty without the option)."""
    if path is None:
        return ()
    from patrol.inputs.fleet import read_vehicles
    from patrol.types import Vehicle

    airframe = Vehicle.with_top_speed(o["max_speed_mps"], o["endurance_min"], o["reserve_pct"], o["wind_mps"])
    return read_vehicles(path, dict(cfg.vehicle), airframe, o["speaker_db"])


def _jsonable(v: Any) -> Any:
    """A value for the manifest: paths as portable strings (no absolute path of this machine)."""
    from patrol.paths import portable

    if isinstance(v, Path):
        return portable(v)
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def _patrol_params(
    o: SimpleNamespace, bc: Broadcast | None, lat: float | None, lon: float | None, home_crs: str
) -> PatrolParams:
    """The planner's parameters from the resolved options (the build's heard-whole window unless --prompt-s)."""
    from patrol.types import PatrolParams

    return PatrolParams(
        alt_m=o.alt_m,
        transit_alt_m=o.transit_alt_m,
        prompt_s=o.prompt_s if o.prompt_s is not None else (bc.prompt_s if bc else 6.0),
        hotspot_repeats=o.hotspot_repeats,
        loiter_s=bc.loiter_s if bc else None,
        radius_m=o.radius_m,
        speed_mps=o.speed_mps,
        spacing_m=o.spacing_m,
        perimeter=o.perimeter,
        overrun_m=o.overrun_m,
        max_alt_m=o.max_alt_m,
        fence_margin_m=o.fence_margin_m,
        nofly_buffer_m=o.nofly_buffer_m,
        clearance_m=o.clearance_m,
        home_lon=lon,
        home_lat=lat,
        home_crs=home_crs,
        shadow_loiters=o.shadow_loiters,
    )


def _plan_at_margin(
    dist: Any, params: PatrolParams, speaker: Any, airframe: Any, bc: Broadcast | None, fleet: Any
) -> tuple[Any, Broadcast | None]:
    """The plan at the margin over noise the broadcast's clips need (patrol.speech.margin). Where that margin
    cannot be planned (at the altitude asked the warning would not be heard on the ground), the plan at
    --snr-db, and the broadcast whose margin says why (today's per-clip warnings then follow)."""
    from dataclasses import replace

    from patrol.errors import PlanningError
    from patrol.plan.pipeline import plan_patrol
    from patrol.speech.margin import not_flown, planning_speaker

    margin, enc = (bc.margin, bc.encoder) if bc else (None, None)
    try:
        return plan_patrol(dist, params, planning_speaker(speaker, margin), airframe, enc, fleet), bc
    except PlanningError as e:
        if bc is None or margin is None or not margin.raised:
            raise
        return plan_patrol(dist, params, speaker, airframe, enc, fleet), replace(bc, margin=not_flown(margin, str(e)))


@one_line_errors
def plan(
    ctx: typer.Context,
    output: OutDirOpt,
    compounds: CompoundsArg = None,
    config: ConfigOpt = None,
    district: DistrictOpt = None,
    vehicle: VehicleOpt = None,
    speaker_profile: SpeakerProfileOpt = None,
    nofly: NoflyOpt = None,
    buildings: BuildingsOpt = None,
    crs: CrsOpt = None,
    clearance_m: ClearanceOpt = 15.0,
    home: HomeOpt = None,
    alt_m: AltOpt = 40.0,
    transit_alt_m: TransitAltOpt = None,
    max_alt_m: MaxAltOpt = 120.0,
    speaker_db: SpeakerDbOpt = 100.0,
    ambient_db: AmbientOpt = 55.0,
    snr_db: SnrOpt = 10.0,
    radius_m: RadiusOpt = None,
    prompt_s: PromptSOpt = None,
    prompts: PromptsOpt = None,
    speaker: SpeakerOpt = "script",
    lang: LangOpt = "zh",
    relay: RelayOpt = "",
    servo_channel: ServoChannelOpt = 9,
    servo_pwm: ServoPwmOpt = "",
    hotspot_repeats: HotspotRepeatsOpt = 3,
    speed_mps: SpeedOpt = None,
    spacing_m: SpacingOpt = None,
    max_speed_mps: MaxSpeedOpt = 10.0,
    endurance_min: EnduranceOpt = 25.0,
    reserve_pct: ReserveOpt = 20.0,
    wind_mps: WindOpt = 0.0,
    perimeter: PerimeterOpt = False,
    overrun_m: OverrunOpt = None,
    shadow_loiters: ShadowLoitersOpt = 24,
    fence_margin_m: FenceMarginOpt = 30.0,
    nofly_buffer_m: NoflyBufferOpt = 30.0,
    engine: EngineOpt = None,
    check: CheckOpt = True,
    max_cer: MaxCerOpt = 0.15,
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
    due: DueOpt = False,
    every: EveryOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
    vehicles: VehiclesOpt = 1,
    swap_min: SwapOpt = 5.0,
    separation_m: SeparationOpt = 50.0,
    start: StartOpt = None,
    fleet_file: FleetFileOpt = None,
) -> None:
    """Plan patrol missions for compound polygons and write a mission package.

    Profiles of patrol.toml (--district, --vehicle, --speaker-profile) give any option not typed on the
    command line; the manifest records each value and where it came from. The warnings' clips in --lang are
    checked by the offline recogniser, in quiet and at --snr-db over street noise; when they are understood only
    at a higher margin the plan is made at the lowest that serves them all (up to 20 dB; a smaller audible
    radius) and says so; a clip above --max-cer there is named in a warning and recorded in the package.
    """
    from patrol.atomic import write_folder
    from patrol.inputs.compounds import read_district
    from patrol.inputs.coords import parse_point
    from patrol.ledger.hooks import due_district, plan_payload
    from patrol.ledger.session import begin
    from patrol.package.writer import package_files
    from patrol.paths import recorded_command
    from patrol.plan.summary import summary_table
    from patrol.speech.cache import PromptCache
    from patrol.types import Speaker, Vehicle

    o, settings = _settings(ctx, dict(locals()))
    lat, lon, home_crs = parse_point(o.home, "--home", o.crs)
    dist = read_district(o.compounds, o.nofly or [], o.buildings or [], crs=o.crs)
    rec = begin(ledger, operator, "plan")
    if due:
        dist = due_district(dist, rec, every)
    cache = PromptCache(enabled=not no_cache)
    servo = (o.servo_channel, o.servo_pwm)
    bc, notes = _broadcast(o.speaker, o.lang, o.prompts, o.relay, *servo, cache, engine, check, max_cer, o.snr_db)
    for w in [*dist.warnings, *notes]:
        warn(w)
    params = _patrol_params(o, bc, lat, lon, home_crs)
    speaker_model = Speaker(level_db_at_1m=o.speaker_db, ambient_db=o.ambient_db, snr_db=o.snr_db)
    airframe = Vehicle.with_top_speed(o.max_speed_mps, o.endurance_min, o.reserve_pct, o.wind_mps)
    result, bc = _plan_at_margin(dist, params, speaker_model, airframe, bc, o.fleet)
    out = write_folder(package_files(result, recorded_command(sys.argv[1:]), bc, settings), output, overwrite=force)
    if rec.on:
        say(rec.save(plan_payload(out)))
    if bc is not None:
        cache_report(cache, len(bc.encoder.build.clips))
        check_report(bc.encoder.build.clips, max_cer, bc.margin)
    typer.echo(summary_table(result))
    typer.echo(_("wrote {path}/ ({n} sortie(s))").format(path=out, n=len(result.sorties)))
