"""``patrol plan``: compound polygons to a mission package (sorties, fences, rally points, cues, clips)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patrol.commands.options import (
    CheckOpt,
    EngineOpt,
    EveryOpt,
    ForceOpt,
    LedgerOpt,
    MaxCerOpt,
    NoCacheOpt,
    OperatorOpt,
    OutDirOpt,
    cache_report,
    check_report,
    one_line_errors,
    say,
    warn,
)

if TYPE_CHECKING:
    from patrol.speech.broadcast import Broadcast
    from patrol.speech.cache import PromptCache


def _opt(name: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(name, help=help)


CompoundsArg = Annotated[
    list[Path], typer.Argument(help="GeoJSON or KML files of compound polygons and hotspots (FILE or FILE:CRS).")
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


@one_line_errors
def plan(
    compounds: CompoundsArg,
    output: OutDirOpt,
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
) -> None:
    """Plan patrol missions for compound polygons and write a mission package.

    The warnings' clips in --lang are checked by the offline recogniser, in quiet and at --snr-db over
    street noise; a clip above --max-cer is named in a warning and recorded in the package.
    """
    from patrol.atomic import write_folder
    from patrol.inputs.compounds import read_district
    from patrol.inputs.coords import parse_point
    from patrol.ledger.hooks import due_district, plan_payload
    from patrol.ledger.session import begin
    from patrol.package.writer import package_files
    from patrol.plan.pipeline import plan_patrol
    from patrol.plan.summary import summary_table
    from patrol.speech.cache import PromptCache
    from patrol.types import PatrolParams, Speaker, Vehicle

    lat, lon, home_crs = parse_point(home, "--home", crs)
    district = read_district(compounds, nofly or [], buildings or [], crs=crs)
    rec = begin(ledger, operator, "plan")
    if due:
        district = due_district(district, rec, every)
    cache = PromptCache(enabled=not no_cache)
    servo = (servo_channel, servo_pwm)
    bc, notes = _broadcast(speaker, lang, prompts, relay, *servo, cache, engine, check, max_cer, snr_db)
    for w in [*district.warnings, *notes]:
        warn(w)
    params = PatrolParams(
        alt_m=alt_m,
        transit_alt_m=transit_alt_m,
        prompt_s=prompt_s if prompt_s is not None else (bc.prompt_s if bc else 6.0),
        hotspot_repeats=hotspot_repeats,
        loiter_s=bc.loiter_s if bc else None,
        radius_m=radius_m,
        speed_mps=speed_mps,
        spacing_m=spacing_m,
        perimeter=perimeter,
        overrun_m=overrun_m,
        max_alt_m=max_alt_m,
        fence_margin_m=fence_margin_m,
        nofly_buffer_m=nofly_buffer_m,
        clearance_m=clearance_m,
        home_lon=lon,
        home_lat=lat,
        home_crs=home_crs,
    )
    speaker_model = Speaker(level_db_at_1m=speaker_db, ambient_db=ambient_db, snr_db=snr_db)
    vehicle = Vehicle.with_top_speed(max_speed_mps, endurance_min, reserve_pct, wind_mps)
    result = plan_patrol(district, params, speaker_model, vehicle, bc.encoder if bc else None)
    command = "patrol " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out = write_folder(package_files(result, command, bc), output, overwrite=force)
    if rec.on:
        say(rec.save(plan_payload(out)))
    if bc is not None:
        cache_report(cache, len(bc.encoder.build.clips))
        check_report(bc.encoder.build.clips, max_cer)
    typer.echo(summary_table(result))
    typer.echo(f"wrote {out}/ ({len(result.sorties)} sortie(s))")
