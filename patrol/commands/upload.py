"""``patrol upload``: put a sortie on a vehicle and read every list back."""

from __future__ import annotations

from patrol.commands import _vehicle
from patrol.commands.options import (
    ConnectOpt,
    FenceActionOpt,
    FenceParamsOpt,
    ForceReasonOpt,
    NoCheckOpt,
    PackageArg,
    SigningOpt,
    SortieOpt,
    one_line_errors,
)


@one_line_errors
def upload(
    package: PackageArg,
    connect: ConnectOpt,
    sortie: SortieOpt = 1,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
) -> None:
    """Upload a sortie's mission, fence and rally points, read each back and compare item by item."""
    up = _vehicle.checked_sortie(package, sortie, force, no_checks)
    link = _vehicle.connect(connect, signing_key)
    try:
        _vehicle.upload(link, up, fence_params, fence_action, not no_checks)
    finally:
        link.close()
