"""What supervisors ask: per compound, when it last heard a whole warning, how often today and this week, the
last audit's coverage and prompts, and whether it is due under a policy; most overdue first.

Days and weeks are local (the machine's time zone, ``TZ``); a week is the ISO week, Monday to Sunday. A *policy*
gives each tier the longest time a compound may go without hearing a whole warning: ``4h`` for all, or
``scattered=12h,guarded=1d`` (tiers not named keep the default), with ``2/day`` meaning every 12 h. A compound is
*due* once that time has passed since it last heard one (or if it never did).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, func, select

from patrol import i18n
from patrol.errors import InputError
from patrol.i18n import N_, _
from patrol.ledger import schema as s

DEFAULT_POLICY: dict[str, float] = {"scattered": 12 * 3600.0, "guarded": 24 * 3600.0, "closed": 48 * 3600.0}
"""Scattered buildings twice a day, guarded compounds daily, closed estates (their own management broadcasts too)
every other day; a compound of another tier, daily."""
OTHER_TIER_S = 24 * 3600.0
_UNITS = {"m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "day": 86400.0}
POLICY_HELP = N_(
    "give 4h, 30m, 1d, 2/day or tier=interval pairs such as scattered=12h,guarded=1d"
)  # shown as _(POLICY_HELP)

# Column heads and words of the status table (one place, for translation).
HEADS = (N_("id"), N_("tier"), N_("last heard"), N_("ago"), N_("today"), N_("week"), N_("last audit"), N_("prompts"))
HEADS += (N_("due"),)
NEVER = N_("never")
DUE_NOW = "DUE"


def parse_interval(text: str, what: str = "--every") -> float:
    """Seconds of ``4h``, ``30m``, ``1.5d`` or ``2/day``.

    >>> parse_interval("4h"), parse_interval("2/day"), parse_interval("90m")
    (14400.0, 43200.0, 5400.0)
    """
    t = text.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*/\s*(day|d)", t)
    if m and float(m.group(1)) > 0:
        return 86400.0 / float(m.group(1))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(min|m|h|day|d)", t)
    if not m or float(m.group(1)) <= 0:
        raise InputError(
            _("{what} {text}: not an interval; {policy_help}").format(
                what=what, text=repr(text), policy_help=_(POLICY_HELP)
            )
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_policy(text: str | None) -> dict[str, float]:
    """The per-tier intervals of ``--every`` (None: :data:`DEFAULT_POLICY`); ``"*"`` is every other tier.

    >>> parse_policy("4h")["guarded"], parse_policy("scattered=6h")["scattered"], parse_policy(None)["closed"]
    (14400.0, 21600.0, 172800.0)
    """
    policy = {**DEFAULT_POLICY, "*": OTHER_TIER_S}
    if not text or not text.strip():
        return policy
    if "=" not in text:
        every = parse_interval(text)
        return {k: every for k in policy}
    for part in text.split(","):
        tier, sep, val = part.partition("=")
        if not sep or not tier.strip():
            raise InputError(
                _("--every {text}: {part} is not tier=interval; {policy_help}").format(
                    text=repr(text), part=repr(part), policy_help=_(POLICY_HELP)
                )
            )
        policy[tier.strip().lower()] = parse_interval(val, f"--every {tier.strip()}")
    return policy


@dataclass
class CompoundStatus:
    """One compound's line of ``patrol status``."""

    id: str
    name: str
    tier: str
    priority: int
    last_heard_utc: str | None
    since_s: float | None
    heard_today: int
    heard_week: int
    last_audit_utc: str | None
    last_audit_heard_whole_share: float | None
    prompts: list[str]
    interval_s: float
    due: bool
    overdue_s: float | None  # positive: overdue by; negative: due in; None: never heard


def local_day(date: dt.date, tz: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The local day ``date`` as ``(start, end)`` aware datetimes."""
    tz = tz or dt.datetime.now().astimezone().tzinfo
    start = dt.datetime.combine(date, dt.time(), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def as_of_for(date: dt.date | None, now: dt.datetime | None = None) -> dt.datetime:
    """The moment a status is for: now, or the end of ``date`` when that day is over (aware, local)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone()
    if date is None or date == now.date():
        return now
    _start, end = local_day(date, now.tzinfo)
    return end - dt.timedelta(microseconds=1)


def compound_status(
    conn: Connection,
    as_of: dt.datetime,
    policy: dict[str, float],
    district: list[dict[str, Any]] | None = None,
) -> list[CompoundStatus]:
    """Every compound of the ledger (or of ``district``: dicts with code, name, tier, priority; those the ledger
    does not know are never heard), as of ``as_of`` (aware), most overdue first."""
    local = as_of.astimezone()
    day0, _end = local_day(local.date(), local.tzinfo)
    week0 = day0 - dt.timedelta(days=local.weekday())
    t_end, t_day, t_week = _naive_utc(as_of), _naive_utc(day0), _naive_utc(week0)
    c, h, r = s.compounds, s.hearings, s.audit_results
    mine = and_(h.c.compound_id == c.c.id, h.c.active.is_(True), h.c.heard_utc <= t_end)

    def heard_since(t0: dt.datetime) -> Any:
        return select(func.count()).select_from(h).where(mine, h.c.heard_utc >= t0).scalar_subquery()

    last_result = (
        select(r.c.id)
        .where(r.c.compound_id == c.c.id, r.c.active.is_(True), r.c.at_utc <= t_end)
        .order_by(r.c.at_utc.desc(), r.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    q = select(
        c.c.code,
        c.c.name,
        c.c.tier,
        c.c.priority,
        select(func.max(h.c.heard_utc)).where(mine).scalar_subquery().label("last"),
        heard_since(t_day).label("today"),
        heard_since(t_week).label("week"),
        last_result.label("rid"),
    )
    if district is not None:
        q = q.where(c.c.code.in_([d["code"] for d in district]))
    rows = {row.code: row for row in conn.execute(q)}
    rids = [row.rid for row in rows.values() if row.rid is not None]
    results = {}
    for k in range(0, len(rids), 5000):
        sel = select(r.c.id, r.c.at_utc, r.c.heard_whole_share, r.c.prompts).where(r.c.id.in_(rids[k : k + 5000]))
        results.update({x.id: x for x in conn.execute(sel)})
    wanted = district or [
        {"code": row.code, "name": row.name, "tier": row.tier, "priority": row.priority} for row in rows.values()
    ]
    out = []
    for d in wanted:
        row = rows.get(d["code"])
        tier = row.tier if row is not None and row.tier else d.get("tier", "")
        interval = policy.get(tier, policy.get("*", OTHER_TIER_S))
        last = row.last if row is not None else None
        if isinstance(last, str):  # SQLite returns max() of a DATETIME as text
            last = dt.datetime.fromisoformat(last)
        res = results.get(row.rid) if row is not None and row.rid is not None else None
        since = None if last is None else (t_end - last).total_seconds()
        overdue = None if since is None else since - interval
        out.append(
            CompoundStatus(
                d["code"],
                (row.name if row is not None else None) or d.get("name") or d["code"],
                tier,
                int((row.priority if row is not None else None) or d.get("priority") or 0),
                None if last is None else last.isoformat() + "Z",
                since,
                int(row.today) if row is not None else 0,
                int(row.week) if row is not None else 0,
                None if res is None else res.at_utc.isoformat() + "Z",
                None if res is None else float(res.heard_whole_share),
                [] if res is None or not res.prompts else res.prompts.split(","),
                interval,
                overdue is None or overdue >= 0,
                overdue,
            )
        )
    out.sort(key=lambda x: (x.overdue_s is not None, -(x.overdue_s or 0.0), x.priority, x.id))
    return out


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m = int(abs(seconds) // 60)
    if m >= 1440:
        return _("{d}d{h:02d}h").format(d=m // 1440, h=m % 1440 // 60)
    return _("{h}h{m:02d}m").format(h=m // 60, m=m % 60)


def status_table(rows: list[CompoundStatus], as_of: dt.datetime, policy: dict[str, float]) -> str:
    """The status as a text table (local times, in the interface language), then one line of totals."""
    heads = [_(h) for h in HEADS]
    width = max([i18n.width(heads[0]), *(i18n.width(r.id) for r in rows)])
    cols = (width, 9, 11, -6, -5, -4, -10, 18)  # negative: right-aligned
    body: list[list[str]] = []

    def line(cells: list[str]) -> str:
        out = [i18n.pad(c, abs(w), right=w < 0) for c, w in zip(cells, cols, strict=False)]
        return "  ".join([*out, *cells[len(cols) :]])

    for r in rows:
        last = _(NEVER)
        if r.last_heard_utc:
            last = i18n.clock(dt.datetime.fromisoformat(r.last_heard_utc[:-1]).replace(tzinfo=dt.UTC).astimezone())
        share = "-" if r.last_audit_heard_whole_share is None else f"{r.last_audit_heard_whole_share:.1%}"
        if r.overdue_s is None:
            due = _("DUE (never heard; every {every})").format(every=_ago(r.interval_s))
        elif r.due:
            due = _("DUE overdue {late}").format(late=_ago(r.overdue_s))
        else:
            due = _("in {left}").format(left=_ago(-r.overdue_s))
        prompts = (",".join(r.prompts) or "-")[:18]
        cells = [r.id, _(r.tier) if r.tier else r.tier, last, _ago(r.since_s), f"{r.heard_today:d}"]
        body.append([*cells, f"{r.heard_week:d}", share, prompts, due])
    if i18n.language() != "en":  # wider words (Chinese takes two columns a character): columns fit them
        cols = tuple(max(abs(w), *(i18n.width(c[k]) for c in [heads, *body])) * (1 if w > 0 else -1)
                     for k, w in enumerate(cols))  # fmt: skip
    lines = [line(heads), *(line(c) for c in body)]
    n_due = sum(1 for r in rows if r.due)
    total = _("{due} of {n} compound(s) due as of {when}")
    lines.append(total.format(due=n_due, n=len(rows), when=i18n.stamp(as_of.astimezone())))
    return "\n".join(lines)


def status_json(rows: list[CompoundStatus], as_of: dt.datetime, policy: dict[str, float]) -> dict[str, Any]:
    """The status as a JSON document for other tools."""
    return {
        "as_of": as_of.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "policy_s": policy,
        "due": sum(1 for r in rows if r.due),
        "compounds": [
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(r).items()}
            for r in rows
        ],
    }


def district_scope(paths: list[Path] | None) -> list[dict[str, Any]] | None:
    """The compounds of ``--district`` files (code, name, tier, priority, WGS84 GeoJSON geometry); None for none."""
    if not paths:
        return None
    from shapely.geometry import mapping

    from patrol.inputs.compounds import read_district

    d = read_district(paths)
    return [
        {
            "code": c.id,
            "name": c.name,
            "tier": c.tier,
            "priority": c.priority,
            "geometry": mapping(d.frame.geom_to_wgs84(c.geometry)),
        }
        for c in d.compounds
    ]


def parse_date(text: str | None) -> dt.date | None:
    """``--date YYYY-MM-DD`` (None: today, now)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            _("--date {text}: give a day as YYYY-MM-DD, e.g. 2020-02-03").format(text=repr(text))
        ) from None
