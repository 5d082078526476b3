"""``patrol import osm``: an OpenStreetMap extract to the compounds, buildings and candidate no-fly zones
``patrol plan`` reads (a folder, written atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import ForceOpt, OutDirOpt, one_line_errors, warn
from patrol.i18n import _

app = typer.Typer(
    name="import",
    help="Bring in compounds drawn elsewhere (OpenStreetMap extracts).",
    no_args_is_help=True,
    add_completion=False,
)

OsmFileArg = Annotated[Path, typer.Argument(help="OpenStreetMap extract: .osm, .osm.bz2 or .osm.pbf.")]
BboxOpt = Annotated[
    str | None, typer.Option("--bbox", help="Keep only what reaches into MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (WGS-84).")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Keep only compounds whose name contains this text.")]
MinAreaOpt = Annotated[float, typer.Option("--min-area-m2", help="Skip residential areas smaller than this, m².")]
DefaultLevelsOpt = Annotated[
    float | None,
    typer.Option("--default-levels", help="Storeys assumed for buildings with no height (default: 18, 54 m)."),
]


@app.command("osm")
@one_line_errors
def osm(
    extract: OsmFileArg,
    output: OutDirOpt,
    bbox: BboxOpt = None,
    name: NameOpt = None,
    min_area_m2: MinAreaOpt = 500.0,
    default_levels: DefaultLevelsOpt = None,
    force: ForceOpt = False,
) -> None:
    """Compounds (landuse=residential, holes kept), hotspots, buildings with heights and candidate no-fly zones."""
    from patrol.atomic import write_folder
    from patrol.inputs.osm import import_files, import_osm, parse_bbox, summary_lines

    result = import_osm(extract, parse_bbox(bbox), name, min_area_m2, default_levels)
    for w in result.warnings:
        warn(w)
    out = write_folder(import_files(result), output, overwrite=force)
    for line in summary_lines(result):
        typer.echo(line)
    nofly = f" --nofly {out / 'nofly_candidates.geojson'}" if result.candidates else ""
    text = _("wrote {path}/; plan it: patrol plan {compounds} --buildings {buildings}")
    typer.echo(text.format(path=out, compounds=out / "compounds.geojson", buildings=out / "buildings.geojson"))
    if nofly:
        typer.echo(_("after checking the candidate no-fly zones, add:{nofly}").format(nofly=nofly))
