"""The fleet's live table: a row per vehicle with its sortie, mission item, mode, altitude, battery and state."""

from __future__ import annotations

from rich.console import Console

from patrol.commands.fleet import status_table
from patrol.vehicle.fleet import VehicleStatus


def _text(status: dict[str, VehicleStatus]) -> list[str]:
    console = Console(record=True, width=120, color_system=None)
    console.print(status_table(status))
    return console.export_text().splitlines()


def test_every_vehicle_has_a_row_saying_what_it_is_doing():
    lines = _text(
        {
            "V1": VehicleStatus(2, 17, 40, "AUTO", 64.5, 87, "flying"),
            "V2": VehicleStatus(1, 39, 40, "BRAKE", 79.6, 41, "holding: waiting for the home pad (V1 is over home)"),
            "V3": VehicleStatus(),
        }
    )
    rows = {ln.split("│")[1].strip(): [c.strip() for c in ln.split("│")[2:-1]] for ln in lines if "│ V" in ln}
    assert rows["V1"] == ["2", "17/40", "AUTO", "64 m", "87%", "flying"]
    assert rows["V2"][:5] == ["1", "39/40", "BRAKE", "80 m", "41%"]
    assert rows["V2"][5].startswith("holding: waiting for the home pad")
    assert rows["V3"] == ["-", "-", "-", "-", "-", "waiting for its first slot"]
