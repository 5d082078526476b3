"""What the schema cannot see in ``patrol.toml``: a speaker that is not heard at a district's altitude, and
profile files that are not there (:func:`profile_problems`; ``patrol config check``)."""

from __future__ import annotations

from pathlib import Path

from patrol.config import CONFIG_NAME, PatrolConfig
from patrol.errors import PlanningError
from patrol.i18n import _
from patrol.plan.acoustics import audible_radius_m
from patrol.types import PatrolParams, Speaker

_DEFAULT_ALT_M = PatrolParams.__dataclass_fields__["alt_m"].default
_DEFAULT_SPEAKER = Speaker()


def profile_problems(cfg: PatrolConfig, path: Path | None) -> list[str]:
    """One line per speaker profile that cannot be heard on the ground at a district's altitude (or the default
    40 m), and per district file that does not exist.

    >>> cfg = PatrolConfig.model_validate({"speaker": {"toy": {"speaker_db": 70}}, "district": {"d": {"alt_m": 40}}})
    >>> print(profile_problems(cfg, Path("p.toml"))[0][:78])
    p.toml: [speaker.toy] is not heard at [district.d]'s 40 m: at 40 m the warning
    """
    where = path or Path(CONFIG_NAME)
    base = where.parent
    districts = cfg.district or {"": None}
    lines = []
    for sname, sp in cfg.speaker.items():
        for dname, d in districts.items():
            alt_m = d.alt_m if d is not None and d.alt_m is not None else _DEFAULT_ALT_M
            ambient = d.ambient_db if d is not None and d.ambient_db is not None else _DEFAULT_SPEAKER.ambient_db
            model = Speaker(
                level_db_at_1m=sp.speaker_db if sp.speaker_db is not None else _DEFAULT_SPEAKER.level_db_at_1m,
                ambient_db=ambient,
                snr_db=sp.snr_db if sp.snr_db is not None else _DEFAULT_SPEAKER.snr_db,
            )
            try:
                audible_radius_m(model, alt_m)
            except PlanningError as e:
                if dname:
                    text = _("{where}: [speaker.{speaker}] is not heard at [district.{district}]'s {alt_m} m: {error}")
                else:
                    text = _("{where}: [speaker.{speaker}] is not heard at the default {alt_m} m: {error}")
                lines.append(text.format(where=where, speaker=sname, district=dname, alt_m=f"{alt_m:g}", error=e))
    for dname, d in cfg.district.items():
        for key in ("compounds", "buildings", "nofly"):
            for f in getattr(d, key) or []:
                file = f.rsplit(":", 1)[0] if f.rsplit(":", 1)[-1].lower() in ("wgs84", "gcj02", "bd09") else f
                if not (base / file).is_file():
                    lines.append(
                        _("{where}: [district.{district}] {key}: {file} not found (relative to {base})").format(
                            where=where, district=dname, key=key, file=f, base=base
                        )
                    )
    return lines
