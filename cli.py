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
        float, typer.Option("--prompt-s", help="Length of one warning, s: it must be heard whole.")
    ] = 6.0,
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
    force: ForceOpt = False,
) -> None:
    """Plan patrol missions for compound polygons and write a mission package."""
    from patrol.compounds import read_district
    from patrol.exports import package_files, write_package
    from patrol.planner import plan_patrol
    from patrol.summary import summary_table
    from patrol.types import PatrolParams, Speaker, Vehicle

    lat, lon = _home(home)
    district = read_district(compounds, nofly or [])
    for w in district.warnings:
        typer.echo(f"patrol: warning: {w}", err=True)
    params = PatrolParams(
        alt_m=alt_m,
        transit_alt_m=transit_alt_m,
        prompt_s=prompt_s,
        hotspot_repeats=hotspot_repeats,
        radius_m=radius_m,
        speed_mps=speed_mps,
        spacing_m=spacing_m,
        perimeter=perimeter,
        overrun_m=overrun_m,
        max_alt_m=max_alt_m,
        fence_margin_m=fence_margin_m,
        nofly_buffer_m=nofly_buffer_m,
        home_lon=lon,
        home_lat=lat,
    )
    speaker = Speaker(level_db_at_1m=speaker_db, ambient_db=ambient_db, snr_db=snr_db)
    vehicle = Vehicle(
        max_speed_mps=max_speed_mps,
        endurance_min=endurance_min,
        reserve_pct=reserve_pct,
        transit_speed_mps=max(max_speed_mps, 1.0),
    )
    result = plan_patrol(district, params, speaker, vehicle)
    command = "patrol " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out = write_package(package_files(result, command), output, overwrite=force)
    typer.echo(summary_table(result))
    typer.echo(f"wrote {out}/ ({len(result.sorties)} sortie(s))")


def main() -> None:
    """Entry point for ``python cli.py``."""
    app()


if __name__ == "__main__":
    main()
