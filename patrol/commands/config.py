"""``patrol config``: the settings and profiles of patrol.toml, resolved (``show``) and validated (``check``)."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from patrol.commands.options import ConfigOpt, one_line_errors
from patrol.i18n import _

app = typer.Typer(help="Settings and profiles (patrol.toml): show them resolved, check them.", no_args_is_help=True)

DistrictOpt = Annotated[str | None, typer.Option("--district", help="Resolve with this district profile.")]
VehicleOpt = Annotated[str | None, typer.Option("--vehicle", help="Resolve with this vehicle profile.")]
SpeakerOpt = Annotated[str | None, typer.Option("--speaker-profile", help="Resolve with this speaker profile.")]


@app.command("show")
@one_line_errors
def show(
    config: ConfigOpt = None,
    district: DistrictOpt = None,
    vehicle: VehicleOpt = None,
    speaker_profile: SpeakerOpt = None,
) -> None:
    """Print the file's profiles, and the settings `patrol plan` would use with the profiles named here."""
    from patrol.commands.plan import plan
    from patrol.config import load_config, resolve
    from patrol.paths import portable

    cfg, path = load_config(config)
    typer.echo(_("config: {path}").format(path=portable(path) if path else _("none (no patrol.toml here)")))
    for kind in ("district", "vehicle", "speaker"):
        for name, prof in getattr(cfg, kind).items():
            keys = ", ".join(f"{k}={v}" for k, v in prof.model_dump(exclude_none=True).items())
            typer.echo(f"[{kind}.{name}] {keys}")
    if cfg.ledger is not None:
        typer.echo(f"[ledger] {', '.join(f'{k}={v}' for k, v in cfg.ledger.model_dump(exclude_none=True).items())}")
    picks = {"district": district, "vehicle": vehicle, "speaker": speaker_profile}
    if not any(picks.values()):
        return
    skip = {"ctx", "output", "config", "district", "vehicle", "speaker_profile", "ledger", "operator", "force"}
    defaults = {
        k: (p.default if p.default is not inspect.Parameter.empty else None)
        for k, p in inspect.signature(plan).parameters.items()
        if k not in skip
    }
    r = resolve(defaults, set(), cfg, path, picks)
    typer.echo(_("plan settings:"))
    for k, v in r.values.items():
        shown = [portable(x) for x in v] if isinstance(v, list) else v
        typer.echo(f"  {k} = {shown}  ({_(r.sources[k])})")  # a profile's source (district.NAME) stays as it is


@app.command("check")
@one_line_errors
def check(config: ConfigOpt = None) -> None:
    """Validate the file: unknown keys, bad units, values out of range, speakers not heard at a district's altitude
    and missing files; one line per problem, exit status 2 if there is any."""
    from patrol.config import PatrolConfig, find_config, read_toml, schema_problems, valid_profiles
    from patrol.errors import InputError
    from patrol.plan.profiles import profile_problems

    path = find_config(config)
    if path is None:
        raise InputError(_("no patrol.toml here (nor ~/.config/patrol/config.toml); give --config FILE"))
    doc = read_toml(path)
    problems = schema_problems(doc, path) + profile_problems(valid_profiles(doc), path)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(2)
    cfg = PatrolConfig.model_validate(doc)
    n = {k: len(getattr(cfg, k)) for k in ("district", "vehicle", "speaker")}
    line = _("{path}: ok ({district} district profile(s), {vehicle} vehicle profile(s), {speaker} speaker profile(s))")
    typer.echo(line.format(path=path, **n))
