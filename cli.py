"""patrol command line: parse, call the library, render. Heavy imports happen inside commands."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    name="patrol",
    help="Plan, fly and audit drone loudspeaker patrols over residential compounds (ArduPilot).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _root() -> None:
    """Plan, fly and audit drone loudspeaker patrols over residential compounds (ArduPilot)."""


def one_line_errors(fn: F) -> F:
    """Turn patrol's errors into one line on stderr and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from patrol.errors import PatrolError

        try:
            return fn(*args, **kwargs)
        except PatrolError as exc:
            typer.echo(f"patrol: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("patrol: interrupted", err=True)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("PATROL_DEBUG"):
                raise
            typer.echo(
                f"patrol: internal error: {type(exc).__name__}: {exc} (PATROL_DEBUG=1 shows the traceback)", err=True
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


# Shared options, defined once.
OutDirOpt = Annotated[Path, typer.Option("--output", "-o", help="Mission package folder to write.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing output.")]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Make every clip afresh; neither read nor fill the prompt cache.")
]


def _cache_report(cache: Any, n: int) -> None:
    """One line on stderr: how many clips the prompt cache gave and how many were made."""
    made = n - cache.hits
    where = f" (prompt cache {cache.root.parent})" if cache.enabled else " (--no-cache)"
    extra = (
        f"; {cache.rebuilt} damaged cache entr{'y' if cache.rebuilt == 1 else 'ies'} rebuilt" if cache.rebuilt else ""
    )
    typer.echo(f"prompts: {cache.hits} clip(s) from the cache, {made} made{extra}{where}", err=True)


def _home(value: str | None) -> tuple[float | None, float | None]:
    from patrol.errors import InputError

    if not value:
        return None, None
    try:
        lat_s, lon_s = value.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InputError(f"--home {value!r}: give LAT,LON in degrees, e.g. --home 38.4150,112.7300") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"--home {value!r}: LAT must be within ±90 and LON within ±180 (order is LAT,LON)")
    return lat, lon


@app.command()
@one_line_errors
def plan(
    compounds: Annotated[list[Path], typer.Argument(help="GeoJSON or KML files of compound polygons and hotspots.")],
    output: OutDirOpt,
    nofly: Annotated[
        list[Path] | None, typer.Option("--nofly", help="GeoJSON/KML of no-fly zones (repeatable).")
    ] = None,
    buildings: Annotated[
        list[Path] | None,
        typer.Option("--buildings", help="GeoJSON/KML footprints with height or building:levels (repeatable)."),
    ] = None,
    clearance_m: Annotated[float, typer.Option("--clearance-m", help="Vertical clearance over any roof, m.")] = 15.0,
    home: Annotated[
        str | None, typer.Option("--home", help="Launch point LAT,LON (default: a clear point mid-district).")
    ] = None,
    alt_m: Annotated[float, typer.Option("--alt-m", help="Patrol altitude above home, m.")] = 40.0,
    transit_alt_m: Annotated[
        float | None, typer.Option("--transit-alt-m", help="Altitude between compounds, m (default: --alt-m).")
    ] = None,
    max_alt_m: Annotated[float, typer.Option("--max-alt-m", help="Altitude ceiling (fence), m.")] = 120.0,
    speaker_db: Annotated[float, typer.Option("--speaker-db", help="Speaker level at 1 m, dB.")] = 100.0,
    ambient_db: Annotated[float, typer.Option("--ambient-db", help="Street noise at ground level, dB.")] = 55.0,
    snr_db: Annotated[float, typer.Option("--snr-db", help="Margin over ambient for intelligible speech, dB.")] = 10.0,
    radius_m: Annotated[
        float | None, typer.Option("--radius-m", help="Audible ground radius, m (overrides the model).")
    ] = None,
    prompt_s: Annotated[
        float | None,
        typer.Option("--prompt-s", help="Time in range a warning needs, s (default: from the clips, or 6)."),
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option("--prompts", help="Prompt catalogue (TOML; default: the shipped one).")
    ] = None,
    speaker: Annotated[
        str, typer.Option("--speaker", help="Cue encoding: script (Lua applet), relay, servo, or none.")
    ] = "script",
    lang: Annotated[str, typer.Option("--lang", help="Language of the warnings: zh or en.")] = "zh",
    relay: Annotated[str, typer.Option("--relay", help="--speaker relay: TRACK:RELAY pairs, e.g. 1:0,3:1.")] = "",
    servo_channel: Annotated[int, typer.Option("--servo-channel", help="--speaker servo: output channel.")] = 9,
    servo_pwm: Annotated[
        str, typer.Option("--servo-pwm", help="--speaker servo: TRACK:PWM pairs, e.g. 1:1100,3:1300.")
    ] = "",
    hotspot_repeats: Annotated[
        int, typer.Option("--hotspot-repeats", help="Repeats of the warning at each hotspot loiter.")
    ] = 3,
    speed_mps: Annotated[
        float | None, typer.Option("--speed-mps", help="Patrol speed, m/s (overrides the choice).")
    ] = None,
    spacing_m: Annotated[
        float | None, typer.Option("--spacing-m", help="Lane spacing, m (overrides the choice).")
    ] = None,
    max_speed_mps: Annotated[float, typer.Option("--max-speed-mps", help="Vehicle's top patrol speed, m/s.")] = 10.0,
    endurance_min: Annotated[float, typer.Option("--endurance-min", help="Battery endurance, minutes.")] = 25.0,
    reserve_pct: Annotated[float, typer.Option("--reserve-pct", help="Battery reserve kept unused, percent.")] = 20.0,
    perimeter: Annotated[bool, typer.Option("--perimeter", help="Fly a perimeter loop before the lanes.")] = False,
    overrun_m: Annotated[
        float | None,
        typer.Option("--overrun-m", help="Run lanes on past the compound edge, m (default: what edge residents need)."),
    ] = None,
    fence_margin_m: Annotated[
        float, typer.Option("--fence-margin-m", help="Inclusion fence margin around the route, m.")
    ] = 30.0,
    nofly_buffer_m: Annotated[
        float, typer.Option("--nofly-buffer-m", help="Distance kept from no-fly zones, m.")
    ] = 30.0,
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
) -> None:
    """Plan patrol missions for compound polygons and write a mission package."""
    from patrol.atomic import write_folder
    from patrol.errors import InputError
    from patrol.inputs.compounds import read_district
    from patrol.package.writer import package_files
    from patrol.plan.pipeline import plan_patrol
    from patrol.plan.summary import summary_table
    from patrol.types import PatrolParams, Speaker, Vehicle

    lat, lon = _home(home)
    district = read_district(compounds, nofly or [], buildings or [])
    encoder, build_dir, loiter_s = None, None, None
    if speaker not in ("script", "relay", "servo", "none"):
        raise InputError(f"--speaker {speaker!r}: use one of script, relay, servo, none")
    if speaker != "none":
        import tempfile

        from patrol.speech.audio import build_prompts
        from patrol.speech.cache import PromptCache
        from patrol.speech.catalogue import DEFAULT_CATALOGUE, LANGUAGES, read_catalogue
        from patrol.speech.cues import PromptCues, parse_track_map, timing_from_clips

        if lang not in LANGUAGES:
            raise InputError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}")
        catalogue = read_catalogue(prompts or DEFAULT_CATALOGUE)
        build_dir = Path(tempfile.mkdtemp(prefix="patrol-prompts-")) / "audio"
        cache = PromptCache(enabled=not no_cache)
        built = build_prompts(catalogue, build_dir, cache=cache)
        encoder = PromptCues(
            catalogue,
            built,
            lang,
            speaker,
            relay_by_track=parse_track_map(relay, "--relay"),
            servo_channel=servo_channel,
            pwm_by_track=parse_track_map(servo_pwm, "--servo-pwm"),
        )
        clip_prompt_s, loiter_s = timing_from_clips(encoder)
        if prompt_s is None:
            prompt_s = clip_prompt_s
    if prompt_s is None:
        prompt_s = 6.0
    for w in district.warnings:
        typer.echo(f"patrol: warning: {w}", err=True)
    params = PatrolParams(
        alt_m=alt_m,
        transit_alt_m=transit_alt_m,
        prompt_s=prompt_s,
        hotspot_repeats=hotspot_repeats,
        loiter_s=loiter_s,
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
    )
    speaker_model = Speaker(level_db_at_1m=speaker_db, ambient_db=ambient_db, snr_db=snr_db)
    vehicle = Vehicle(
        max_speed_mps=max_speed_mps,
        endurance_min=endurance_min,
        reserve_pct=reserve_pct,
        transit_speed_mps=max(max_speed_mps, 1.0),
    )
    result = plan_patrol(district, params, speaker_model, vehicle, encoder)
    command = "patrol " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    files: dict[str, Any] = dict(package_files(result, command))
    if build_dir is not None and encoder is not None:
        import json
        import shutil

        for f in sorted(build_dir.rglob("*")):
            if f.is_file():
                files[f"audio/{f.relative_to(build_dir).as_posix()}"] = f.read_bytes()
        shutil.rmtree(build_dir.parent, ignore_errors=True)
        man = json.loads(files["manifest.json"])
        man["broadcast"] = {
            "catalogue": str(encoder.catalogue.path),
            "lang": lang,
            "speaker": speaker,
            "clips": "audio/manifest.json",
            "lua_applet": "audio_prompts/lua/patrol_speaker.lua" if speaker == "script" else None,
            "rules": {"enter": encoder.catalogue.enter, "hotspot": encoder.catalogue.hotspot},
            "relay_by_track": {str(k): v for k, v in encoder.relay_by_track.items()},
            "servo_channel": encoder.servo_channel,
            "pwm_by_track": {str(k): v for k, v in encoder.pwm_by_track.items()},
            "stop_pwm": encoder.stop_pwm,
            "prompt_s_from_clips": prompt_s if params.prompt_s == prompt_s else None,
        }
        files["manifest.json"] = json.dumps(man, indent=2, ensure_ascii=False) + "\n"
    out = write_folder(files, output, overwrite=force)
    if encoder is not None:
        _cache_report(cache, len(encoder.build.clips))
    typer.echo(summary_table(result))
    typer.echo(f"wrote {out}/ ({len(result.sorties)} sortie(s))")


# -- prompts ----------------------------------------------------------------------------------------------
prompts_app = typer.Typer(help="The warnings: build clips from the catalogue, play one.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")


@prompts_app.command("build")
@one_line_errors
def prompts_build(
    catalogue: Annotated[Path | None, typer.Argument(help="Prompt catalogue (TOML; default: the shipped one).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")] = Path("audio_prompts/build"),
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
) -> None:
    """Text-to-speech (and recorded clips) to loudness-normalised WAV, with a manifest."""
    from patrol.speech.audio import build_prompts
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue

    cache = PromptCache(enabled=not no_cache)
    build = build_prompts(read_catalogue(catalogue or DEFAULT_CATALOGUE), output, overwrite=force, cache=cache)
    for c in build.clips:
        typer.echo(f"#{c.track:<3d} {c.prompt_id:18s} {c.lang}  {c.duration_s:5.2f} s  {c.source}")
    _cache_report(cache, len(build.clips))
    typer.echo(f"wrote {output}/ ({len(build.clips)} clips, manifest.json, sd/ for the speaker's SD card)")


@prompts_app.command("say")
@one_line_errors
def prompts_say(
    prompt_id: Annotated[str, typer.Argument(help="Prompt id from the catalogue.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    catalogue: Annotated[Path | None, typer.Option("--catalogue", help="Prompt catalogue (default: shipped).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the WAV here instead of playing it.")
    ] = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Play one prompt through the sound device (or write it to a file where there is none)."""
    import tempfile

    from patrol.errors import InputError
    from patrol.speech.audio import RATE_HZ, catalogue_jobs, clip_bytes, play
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue

    catalogue = catalogue or DEFAULT_CATALOGUE
    cat = read_catalogue(catalogue)
    cat.get(prompt_id)  # an unknown id is named before anything else
    job = next((j for j in catalogue_jobs(cat) if j.prompt_id == prompt_id and j.lang == lang), None)
    if job is None:
        raise InputError(f"{catalogue}: prompt {prompt_id} has no {lang} text or clip")
    data, _ = clip_bytes(job, PromptCache(enabled=not no_cache))
    if output is None:
        with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as f:
            f.write(data)
        if play(f.name):
            typer.echo(f"played {prompt_id} ({lang}), {(len(data) - 44) / 2 / RATE_HZ:.2f} s")
            Path(f.name).unlink()
            return
        output = Path(f"{prompt_id}.{lang}.wav")
        Path(f.name).replace(output)
        typer.echo(f"no sound device: wrote {output}")
        return
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(output)
    typer.echo(f"wrote {output} ({(len(data) - 44) / 2 / RATE_HZ:.2f} s)")


@prompts_app.command("cache")
@one_line_errors
def prompts_cache(
    clear_: Annotated[bool, typer.Option("--clear", help="Remove every cached clip.")] = False,
) -> None:
    """Where the prompt cache is, how many clips it holds; --clear empties it."""
    from patrol.speech.cache import PromptCache

    cache = PromptCache()
    if clear_:
        typer.echo(f"removed {cache.clear()} cached clip(s) from {cache.root}")
        return
    entries = cache.entries()
    size = sum(e.stat().st_size for e in entries)
    typer.echo(f"{cache.root}: {len(entries)} clip(s), {size / 1e6:.1f} MB")


# -- flying ---------------------------------------------------------------------------------------------
ConnectOpt = Annotated[
    str, typer.Option("--connect", "-c", help="tcp:HOST:PORT, udp:/udpin:/udpout:HOST:PORT or /dev/ttyUSB0:57600.")
]
SigningOpt = Annotated[
    Path | None,
    typer.Option("--signing-key", help="MAVLink2 signing key file (32 bytes, 64 hex digits or passphrase)."),
]
SortieOpt = Annotated[int, typer.Option("--sortie", "-s", help="Sortie number in the package (1 is the first).")]


def _connect(url: str, signing_key: Path | None):
    from patrol.vehicle.link import connect, device_and_baud

    device_and_baud(url)  # a malformed address is refused before anything is printed
    typer.echo(f"connecting to {url} ...", err=True)
    link = connect(url, signing_key=signing_key)
    typer.echo(f"vehicle {link.target_system}/{link.target_component} is there", err=True)
    return link


def _upload(link: Any, up: Any, fence_params: bool, fence_action: int, check: bool) -> None:
    from patrol.vehicle.upload import check_sortie_upload, upload_sortie, vehicle_home
    from patrol.vehicle.upload import fence_params as needed_params

    if check:
        check_sortie_upload(up, vehicle_home(link))
    bars: dict[str, Any] = {}

    def progress(name: str, i: int, n: int) -> None:
        if name not in bars:
            bars[name] = typer.progressbar(length=n, label=f"{name:7s}", file=sys.stderr)
            bars[name].__enter__()
        bars[name].update(i - bars[name].pos)
        if i == n:
            bars[name].__exit__(None, None, None)

    counts = upload_sortie(link, up, progress=progress)
    typer.echo(
        f"uploaded and read back: {counts['mission'] - 1} mission items (+home), {counts['fence']} fence items, "
        f"{counts['rally']} rally points - identical",
        err=True,
    )
    if fence_params:
        for name, value in needed_params(up, fence_action).items():
            link.set_param(name, value)
            typer.echo(f"set {name} = {value:g} (confirmed)", err=True)


FenceParamsOpt = Annotated[
    bool,
    typer.Option(
        "--fence-params/--no-fence-params",
        help="Set FENCE_ENABLE, FENCE_TYPE, FENCE_ALT_MAX and FENCE_ACTION for the package's fence.",
    ),
]
FenceActionOpt = Annotated[
    int, typer.Option("--fence-action", help="ArduCopter FENCE_ACTION: 1 RTL, 2 land, 3 SmartRTL, 4 brake.")
]
NoCheckOpt = Annotated[
    bool,
    typer.Option("--no-checks", help="Skip pre-upload fence/altitude/home checks (test benches only).", hidden=True),
]


@app.command()
@one_line_errors
def upload(
    package: Annotated[Path, typer.Argument(help="Mission package folder (or one sortie-NN.plan).")],
    connect: ConnectOpt,
    sortie: SortieOpt = 1,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
) -> None:
    """Upload a sortie's mission, fence and rally points, read each back and compare item by item."""
    up = _checked_sortie(package, sortie, force, no_checks)
    link = _connect(connect, signing_key)
    try:
        _upload(link, up, fence_params, fence_action, not no_checks)
    finally:
        link.close()


@app.command()
@one_line_errors
def check(
    package: Annotated[Path, typer.Argument(help="Mission package folder.")],
    sortie: Annotated[int | None, typer.Option("--sortie", "-s", help="Check only this sortie.")] = None,
) -> None:
    """Pre-flight safety report: altitude, clearance over roofs, no-fly distance, fence margin, endurance."""
    from patrol.errors import SafetyError
    from patrol.package.check import check_package, report_text

    checks = check_package(package, [sortie] if sortie else None)
    typer.echo(report_text(checks))
    bad = [c for c in checks if c.violations]
    if bad:
        raise SafetyError(
            f"{len(bad)} sortie(s) fail the pre-flight check: {bad[0].violations[0]} (sortie {bad[0].index})"
        )


def _checked_sortie(package: Path, sortie: int, force: str | None, no_checks: bool) -> Any:
    """The sortie to upload, after the package's pre-flight check (unless the hidden bench flag skips it)."""
    from patrol.package.reader import read_sortie

    up = read_sortie(package, sortie)
    if not no_checks:
        _preflight(package, sortie, force)
    return up


def _preflight(package: Path, sortie: int, force: str | None) -> None:
    """Run the pre-flight check for one sortie; refuse, or log the override with its reason."""
    import datetime as dt
    import json

    from patrol.errors import SafetyError
    from patrol.package.check import check_package

    pkg = package if package.is_dir() else package.parent
    if not (pkg / "manifest.json").exists():
        return  # a bare .plan: the fence/altitude checks of upload still apply
    (c,) = check_package(pkg, [sortie])
    if not c.violations:
        return
    if not force:
        raise SafetyError(f"sortie {sortie} fails the pre-flight check: {c.violations[0]}; see `patrol check`")
    log = pkg / "flights" / "overrides.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "time_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sortie": sortie,
        "violations": c.violations,
        "reason": force,
    }
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    typer.echo(f"patrol: warning: pre-flight check overridden ({force!r}), logged to {log}", err=True)


ForceReasonOpt = Annotated[
    str | None,
    typer.Option("--force", help="Upload despite a failing pre-flight check; the reason is logged with the package."),
]


@app.command()
@one_line_errors
def download(
    connect: ConnectOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="QGroundControl .plan file to write.")],
    signing_key: SigningOpt = None,
    force: ForceOpt = False,
) -> None:
    """Download the vehicle's mission, fence and rally points into a QGroundControl .plan file."""
    import json

    from patrol.atomic import write_text
    from patrol.errors import PatrolError
    from patrol.package.reader import FENCE, MISSION, RALLY, SortieUpload, upload_to_plan

    if output.exists() and not force:
        raise PatrolError(f"{output}: already exists; pass --force to replace it")
    link = _connect(connect, signing_key)
    try:
        mission = link.download(MISSION)
        fence, rally = link.download(FENCE), link.download(RALLY)
    finally:
        link.close()
    home = mission[0] if mission else None
    up = SortieUpload(
        str(output),
        home.lat if home else 0.0,
        home.lon if home else 0.0,
        tuple(mission[1:]),
        tuple(fence),
        tuple(rally),
    )
    write_text(output, json.dumps(upload_to_plan(up), indent=4) + "\n")
    typer.echo(f"wrote {output}: {len(up.mission)} mission items, {len(fence)} fence items, {len(rally)} rally points")


@app.command()
@one_line_errors
def clear(connect: ConnectOpt, signing_key: SigningOpt = None) -> None:
    """Delete the vehicle's mission, fence and rally points."""
    from patrol.package.reader import FENCE, MISSION, RALLY

    link = _connect(connect, signing_key)
    try:
        for mt in (MISSION, FENCE, RALLY):
            link.clear(mt)
    finally:
        link.close()
    typer.echo("cleared mission, fence and rally points")


@app.command()
@one_line_errors
def fly(
    package: Annotated[Path, typer.Argument(help="Mission package folder (or one sortie-NN.plan).")],
    connect: ConnectOpt,
    sortie: SortieOpt = 1,
    tlog: Annotated[
        Path | None, typer.Option("--tlog", help="Telemetry log to record (default: PACKAGE/flights/...).")
    ] = None,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    loiter_on_interrupt: Annotated[
        bool, typer.Option("--loiter-on-interrupt", help="On Ctrl-C switch to LOITER instead of RTL.")
    ] = False,
    timeout_min: Annotated[float, typer.Option("--timeout-min", help="Give up watching after this long.")] = 60.0,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
) -> None:
    """Upload and verify a sortie, arm, take off in AUTO and follow it until landed and disarmed."""
    import datetime as dt
    import os as _os

    from patrol.vehicle.fly import Flight

    up = _checked_sortie(package, sortie, force, no_checks)
    if tlog is None:
        base = package if package.is_dir() else package.parent
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        tlog = base / "flights" / f"sortie-{sortie:02d}-{stamp}.tlog"
    tlog.parent.mkdir(parents=True, exist_ok=True)
    part = tlog.with_name(tlog.name + ".part")
    link = _connect(connect, signing_key)
    link.conn.setup_logfile(str(part), mode="wb")
    flight = None
    try:
        _upload(link, up, fence_params, fence_action, not no_checks)
        flight = Flight(link)
        typer.echo("waiting for a 3D fix and a ready EKF, then GUIDED, arm, AUTO ...", err=True)
        last = len(up.mission)

        def report(s: Any) -> None:
            typer.echo(
                f"\ritem {max(s.current_seq, 0):3d}/{last}  next {s.wp_dist_m:6.0f} m  alt {s.rel_alt_m:5.1f} m  "
                f"battery {s.battery_pct:3d}%  {s.mode:8s}",
                err=True,
                nl=False,
            )

        state = flight.fly(last, timeout_min * 60, report)
        typer.echo("", err=True)
        typer.echo(
            f"sortie {sortie} flown: landed and disarmed; {len(state.reached)} items reached, "
            f"{len(state.track)} positions logged"
        )
    except KeyboardInterrupt:
        if flight is not None and flight.state.armed:
            mode = "LOITER" if loiter_on_interrupt else "RTL"
            flight.set_mode(mode)
            typer.echo(f"\npatrol: interrupted: vehicle switched to {mode}", err=True)
        raise
    finally:
        link.close()
        if part.exists():
            _os.replace(part, tlog)
            typer.echo(f"telemetry log: {tlog}", err=True)


TilesOpt = Annotated[
    str, typer.Option("--tiles", help="Background: osm (online tiles), none (fully offline), or a URL template.")
]


@app.command("map")
@one_line_errors
def map_(
    package: Annotated[Path, typer.Argument(help="Mission package folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    tiles: TilesOpt = "osm",
) -> None:
    """One HTML page of the plan: compounds, routes, swaths, cues, hotspots, fences, rally points, home."""
    from patrol.review.maps import map_command

    typer.echo(map_command(package, output, tiles))


@app.command()
@one_line_errors
def replay(
    logs: Annotated[list[Path], typer.Argument(help="Flight logs (.tlog or .bin).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    package: Annotated[
        Path | None, typer.Option("--package", "-p", help="The package flown (planned routes, prompt texts).")
    ] = None,
    tiles: TilesOpt = "osm",
) -> None:
    """One HTML page of a flight: track with a time slider, plan against flight, cues, breaches, altitude."""
    from patrol.review.maps import replay_command

    typer.echo(replay_command(logs, package, output, tiles))


@app.command()
@one_line_errors
def audit(
    logs: Annotated[list[Path], typer.Argument(help="Flight logs: .tlog and/or DataFlash .bin (a day's sorties).")],
    package: Annotated[Path, typer.Option("--package", "-p", help="The mission package that was flown.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for report.json, .csv, .html.")],
    min_coverage: Annotated[
        float, typer.Option("--min-coverage", help="Share of each compound that must hear a whole warning.")
    ] = 0.9,
    only_flown: Annotated[
        bool, typer.Option("--only-flown", help="Report only compounds the logs swept (25% or more in range).")
    ] = False,
    compounds: Annotated[
        str, typer.Option("--compounds", help="Report only these compound ids (comma-separated).")
    ] = "",
    assume_playing: Annotated[
        bool,
        typer.Option("--assume-playing", help="Count all airborne time as playing (logs without speaker reports)."),
    ] = False,
    force: ForceOpt = False,
) -> None:
    """Per-compound coverage from real flight logs: heard whole, in range, uncovered areas, prompts, breaches."""
    import json

    from patrol.atomic import write_folder
    from patrol.errors import CoverageShortfallError, InputError
    from patrol.package.reader import read_package
    from patrol.review.audit import audit_view, report, report_csv, report_html, run_audit, uncovered_geojson
    from patrol.review.flightlog import read_log

    if not 0.0 <= min_coverage <= 1.0:
        raise InputError(f"--min-coverage {min_coverage:g}: give a share between 0 and 1, e.g. 0.9")
    pkg = audit_view(read_package(package))
    flights = [read_log(p) for p in logs]
    for f in flights:
        for w in f.warnings:
            typer.echo(f"patrol: warning: {f.path}: {w}", err=True)
        if not f.plays and not assume_playing:
            typer.echo(
                f"patrol: warning: {f.path}: no speaker cue reports; nothing counts as heard "
                "(use --assume-playing for a speaker without reports)",
                err=True,
            )
    audits = run_audit(flights, pkg, assume_playing)
    if compounds:
        wanted = [c.strip() for c in compounds.split(",") if c.strip()]
        unknown = sorted(set(wanted) - {a.id for a in audits})
        if unknown:
            raise InputError(f"--compounds: {', '.join(unknown)} not in {package}; ids are like {audits[0].id}")
        audits = [a for a in audits if a.id in wanted]
    if only_flown:
        audits = [a for a in audits if a.in_range.mean() >= 0.25]
    doc = report(audits, pkg, flights, min_coverage)
    geoms = {c["id"]: c["geometry"] for c in pkg.compounds}
    uncovered = [u for a in audits if (u := uncovered_geojson(a, pkg, geoms[a.id])) is not None]
    files = {
        "report.json": json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        "report.csv": report_csv(doc),
        "report.html": report_html(doc, audits, pkg, flights),
        "uncovered.geojson": json.dumps({"type": "FeatureCollection", "features": uncovered}) + "\n",
    }
    write_folder(files, output, overwrite=force)
    width = max((len(c["id"]) for c in doc["compounds"]), default=2)
    typer.echo(f"{'id':{width}}  heard_whole  in_range  time_over_s  prompts")
    for c in doc["compounds"]:
        prompts = ",".join(sorted({str(p["prompt_id"]) for p in c["prompts_played"]})) or "-"
        mark = "" if c["passes"] else "  < " + f"{min_coverage:.0%}"
        typer.echo(
            f"{c['id']:{width}}  {c['heard_whole_share']:10.1%}  {c['in_range_share']:8.1%}  "
            f"{c['time_over_s']:11.0f}  {prompts}{mark}"
        )
    failing = [c["id"] for c in doc["compounds"] if not c["passes"]]
    typer.echo(f"wrote {output}/ (report.json, report.csv, report.html, uncovered.geojson)")
    if failing:
        raise CoverageShortfallError(
            f"{len(failing)} compound(s) under {min_coverage:.0%} heard whole: {', '.join(failing[:8])}"
            + (" ..." if len(failing) > 8 else "")
        ) from None


@app.command()
@one_line_errors
def broadcast(
    connect: ConnectOpt,
    package: Annotated[Path, typer.Option("--package", "-p", help="Mission package folder (with audio/).")],
    sortie: SortieOpt = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the play log and WAV copies (default: PACKAGE/plays).")
    ] = None,
    sound: Annotated[
        bool | None,
        typer.Option("--sound/--no-sound", help="Play through the sound device (default: if there is one)."),
    ] = None,
    timeout_min: Annotated[float, typer.Option("--timeout-min", help="Stop following after this long.")] = 120.0,
    signing_key: SigningOpt = None,
) -> None:
    """Companion-computer player: follow the vehicle's speaker cues, play each prompt, log every play."""
    import datetime as dt

    from patrol.errors import InputError
    from patrol.package.reader import read_package
    from patrol.speech.catalogue import read_build
    from patrol.vehicle.player import Player, decoder, follow

    pkg = read_package(package)
    bc = pkg.broadcast
    if not bc:
        raise InputError(f"{package}: planned with --speaker none; re-plan with a speaker to broadcast")
    from patrol.speech.audio import repair_build
    from patrol.speech.cache import PromptCache

    build = read_build(package / "audio")
    for line in repair_build(build, PromptCache()):
        typer.echo(f"patrol: warning: {line}", err=True)
    mission = None
    decode = None
    if bc["speaker"] in ("relay", "servo"):
        mission = list(pkg.sortie(sortie).mission)
        decode = decoder(
            {int(k): v for k, v in bc["relay_by_track"].items()},
            {int(k): v for k, v in bc["pwm_by_track"].items()},
            bc["stop_pwm"],
        )
    out_dir = out or package / "plays"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = out_dir / f"sortie-{sortie:02d}-{stamp}.jsonl"
    player = Player(build, out_dir / f"sortie-{sortie:02d}-{stamp}", sound)
    link = _connect(connect, signing_key)
    typer.echo(
        f"following speaker cues ({bc['speaker']}); playing {'aloud' if player.sound else 'into WAV files'}", err=True
    )
    try:
        plays = follow(
            link,
            player,
            log_path,
            mission,
            decode,
            timeout_s=timeout_min * 60,
            on_play=lambda p: typer.echo(
                f"{p.t_utc}  {p.action:4s} #{p.track:<3d} {p.prompt_id or '-':18s} at {p.lat}, {p.lon}", err=True
            ),
        )
    finally:
        link.close()
    typer.echo(f"{len(plays)} speaker events logged to {log_path}")


def main() -> None:
    """Entry point for ``python cli.py``."""
    app()


if __name__ == "__main__":
    main()
