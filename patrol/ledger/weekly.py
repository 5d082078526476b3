"""``patrol report --week``: one week of the ledger as a page (a chart of coverage per day, a table per compound
and the week's flights) and as CSV, for supervisors and auditors.

Coverage of a day is the share of the compounds in scope that heard a whole warning at least once that day, and
the share that heard it as often as the policy asks (``ceil(24 h / interval)`` times: twice for scattered
compounds under the default policy). Days are local, the week is ISO (Monday first).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import Connection, select

from patrol import i18n
from patrol.errors import InputError
from patrol.i18n import N_, _, csv_bom, short_day
from patrol.ledger import schema as s
from patrol.ledger.status import OTHER_TIER_S, local_day
from patrol.review.pages import render

WEEK_HELP = i18n.N_("give an ISO week such as 2020-W06, a date in it (2020-02-03), this or last")  # shown translated
DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def parse_week(text: str | None, today: dt.date | None = None) -> dt.date:
    """The Monday of the week ``text`` names (None or ``this``: this week).

    >>> parse_week("2020-W06"), parse_week("2020-02-05")
    (datetime.date(2020, 2, 3), datetime.date(2020, 2, 3))
    """
    today = today or dt.date.today()
    t = (text or "this").strip().lower()
    try:
        if t in ("this", "last"):
            day = today - dt.timedelta(days=7 if t == "last" else 0)
        elif m := re.fullmatch(r"(\d{4})-?w(\d{1,2})", t):
            day = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        else:
            day = dt.date.fromisoformat(t)
    except ValueError:
        raise InputError(
            i18n._("--week {text}: not a week; {week_help}").format(text=repr(text), week_help=i18n._(WEEK_HELP))
        ) from None
    return day - dt.timedelta(days=day.weekday())


@dataclass
class CompoundWeek:
    """One compound's week: hearings per day, and its last audit of the week."""

    code: str
    name: str
    tier: str
    per_day: list[int]
    needed_per_day: int
    last_share: float | None = None
    last_prompts: str = ""


@dataclass
class Week:
    """The week's figures (see the module docstring)."""

    monday: dt.date
    days: list[dt.date]
    compounds: list[CompoundWeek]
    heard_share: list[float]  # per day: share of compounds heard at least once
    met_share: list[float]  # per day: share heard as often as the policy asks
    audit_share: list[float | None]  # per day: mean heard-whole share of that day's audit results
    flights: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The ISO week, e.g. 2020-W06."""
        y, w, _day = self.monday.isocalendar()
        return f"{y}-W{w:02d}"


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _local_date(naive_utc: Any) -> dt.date:
    if isinstance(naive_utc, str):
        naive_utc = dt.datetime.fromisoformat(naive_utc)
    return naive_utc.replace(tzinfo=dt.UTC).astimezone().date()


def week_data(
    conn: Connection, monday: dt.date, policy: dict[str, float], district: list[dict[str, Any]] | None = None
) -> Week:
    """The week from ``monday`` out of the ledger, for its compounds (or ``district``'s)."""
    days = [monday + dt.timedelta(days=k) for k in range(7)]
    t0, _end = local_day(days[0])
    _start, t1 = local_day(days[-1])
    c, h, r, f = s.compounds, s.hearings, s.audit_results, s.flights
    known = {row.code: row for row in conn.execute(select(c.c.id, c.c.code, c.c.name, c.c.tier))}
    scope = district or [{"code": k, "name": v.name, "tier": v.tier} for k, v in sorted(known.items())]
    ids = {known[d["code"]].id: d["code"] for d in scope if d["code"] in known}
    per = {d["code"]: [0] * 7 for d in scope}
    q = select(h.c.compound_id, h.c.heard_utc).where(
        h.c.active.is_(True), h.c.heard_utc >= _utc(t0), h.c.heard_utc < _utc(t1)
    )
    for cid, at in conn.execute(q):
        if cid in ids:
            k = (_local_date(at) - monday).days
            if 0 <= k < 7:
                per[ids[cid]][k] += 1
    last: dict[str, tuple[Any, float, str]] = {}
    day_shares: list[list[float]] = [[] for _ in range(7)]
    q = select(r.c.compound_id, r.c.at_utc, r.c.heard_whole_share, r.c.prompts).where(
        r.c.active.is_(True), r.c.at_utc >= _utc(t0), r.c.at_utc < _utc(t1)
    )
    for cid, at, share, prompts in conn.execute(q):
        if cid not in ids:
            continue
        k = (_local_date(at) - monday).days
        if 0 <= k < 7:
            day_shares[k].append(float(share))
        if ids[cid] not in last or at >= last[ids[cid]][0]:
            last[ids[cid]] = (at, float(share), prompts or "")
    comps = []
    for d in scope:
        row = known.get(d["code"])
        tier = (row.tier if row is not None else "") or d.get("tier", "")
        need = max(1, math.ceil(86400.0 / policy.get(tier, policy.get("*", OTHER_TIER_S)) - 1e-9))
        lst = last.get(d["code"])
        comps.append(
            CompoundWeek(
                d["code"],
                (row.name if row is not None else "") or d.get("name", d["code"]),
                tier,
                per[d["code"]],
                need,
                None if lst is None else lst[1],
                "" if lst is None else lst[2],
            )
        )
    n = max(len(comps), 1)
    heard = [sum(1 for x in comps if x.per_day[k] > 0) / n for k in range(7)]
    met = [sum(1 for x in comps if x.per_day[k] >= x.needed_per_day) / n for k in range(7)]
    audit = [sum(v) / len(v) if v else None for v in day_shares]
    q = (
        select(f.c.start_utc, f.c.end_utc, f.c.vehicle, f.c.operator, f.c.sortie, f.c.source, f.c.log_name)
        .add_columns(f.c.log_sha256, f.c.outcome)
        .where(f.c.start_utc >= _utc(t0), f.c.start_utc < _utc(t1))
        .order_by(f.c.start_utc)
    )
    flights = [dict(row._mapping) for row in conn.execute(q)]
    return Week(monday, days, comps, heard, met, audit, flights)


def chart_svg(week: Week, width: int = 720, height: int = 260) -> Markup:
    """The chart of coverage per day: bars of compounds heard at least once and as often as the policy asks, and
    a line of the audits' mean heard-whole share (an inline SVG, no script, no network)."""
    left, right, top, bottom = 48, 16, 16, 40
    pw, ph = width - left - right, height - top - bottom
    slot = pw / 7
    bars, points = [], []
    for k in range(7):
        x = left + k * slot
        for j, (share, cls) in enumerate(((week.heard_share[k], "heard"), (week.met_share[k], "met"))):
            bh = ph * share
            bars.append(
                {
                    "x": x + slot * (0.15 + 0.36 * j),
                    "y": top + ph - bh,
                    "w": slot * 0.32,
                    "h": bh,
                    "cls": cls,
                    "v": share,
                }
            )
        if week.audit_share[k] is not None:
            points.append((x + slot / 2, top + ph * (1 - week.audit_share[k])))
    ticks = [{"y": top + ph * (1 - v / 100), "label": f"{v} %"} for v in (0, 25, 50, 75, 100)]
    days = [
        {"x": left + (k + 0.5) * slot, "name": _(DAY_NAMES[k]), "date": short_day(d)} for k, d in enumerate(week.days)
    ]
    return render(
        "week_chart.svg.j2",
        width=width,
        height=height,
        left=left,
        top=top,
        pw=pw,
        ph=ph,
        bars=bars,
        ticks=ticks,
        days=days,
        line=" ".join(f"{x:.1f},{y:.1f}" for x, y in points),
        points=points,
    )


def week_csv(week: Week) -> str:
    """One row per compound: hearings per day, days that met the policy, the week's last audit share."""
    buf = io.StringIO()
    w = csv.writer(buf)
    head = [_("id"), _("name"), _("tier"), *(d.isoformat() for d in week.days), _("week"), _("needed_per_day")]
    w.writerow([*head, _("days_met"), _("last_heard_whole_share"), _("last_prompts")])
    for c in week.compounds:
        met = sum(1 for v in c.per_day if v >= c.needed_per_day)
        share = "" if c.last_share is None else round(c.last_share, 4)
        w.writerow([c.code, c.name, c.tier, *c.per_day, sum(c.per_day), c.needed_per_day, met, share, c.last_prompts])
    return csv_bom() + buf.getvalue()


def flights_csv(week: Week) -> str:
    """One row per flight of the week: when, vehicle, operator, sortie, how it came in, the log and its sha256."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["start_utc", "end_utc", "vehicle", "operator", "sortie", "source", "log_name", "log_sha256", "outcome"]
    w.writerow([_(k) for k in cols])
    for f in week.flights:
        w.writerow([f[k] for k in cols])
    return csv_bom() + buf.getvalue()


# The CSVs' column heads, marked for the catalogue (translated where they are written).
CSV_HEADS = (N_("needed_per_day"), N_("days_met"), N_("last_heard_whole_share"), N_("last_prompts"), N_("start_utc"))
CSV_HEADS += (N_("end_utc"), N_("vehicle"), N_("operator"), N_("source"), N_("log_name"), N_("log_sha256"))
CSV_HEADS += (N_("outcome"),)


def week_files(week: Week) -> dict[str, str]:
    """The report folder: report.html, report.csv (per compound), flights.csv."""
    page = render("week_report.html.j2", week=week, chart=chart_svg(week), day_names=[_(d) for d in DAY_NAMES])
    return {"report.html": str(page), "report.csv": week_csv(week), "flights.csv": flights_csv(week)}
