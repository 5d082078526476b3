"""``patrol upload``: put a sortie on a vehicle and read every list back."""

from __future__ import annotations

from patrol.commands import _vehicle
from patrol.commands.options import (
    ConfigOpt,
    FenceActionOpt,
    FenceParamsOpt,
    ForceReasonOpt,
    LedgerOpt,
    NoCheckOpt,
    OperatorOpt,
    PackageArg,
    SigningOpt,
    SortieOpt,
    VehicleConnectOpt,
    VehicleOpt,
    one_line_errors,
    say,
)


@one_line_errors
def upload(
    package: PackageArg,
    connect: VehicleConnectOpt = None,
    sortie: SortieOpt = 1,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
    vehicle: VehicleOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Upload a sortie's mission, fence and rally points, read each back and compare item by item."""
    from patrol.ledger.hooks import Trail
    from patrol.ledger.session import begin

    rec = begin(ledger, operator, "upload", field=True)
    up, override = _vehicle.checked_sortie(package, sortie, force, no_checks)
    url, sysid = _vehicle.address(connect, vehicle, config)
    link = _vehicle.connect(url, signing_key, sysid, vehicle)
    trail = Trail(package, sortie, vehicle or f"sysid {link.target_system}", override)
    try:
        trail.uploaded(_vehicle.upload(link, up, fence_params, fence_action, not no_checks))
    except Exception as e:
        trail.failed(e)
        raise
    finally:
        link.close()
        say(rec.save(trail.upload_payload()))
