"""The first ledger schema: runs, compounds, packages, uploads, overrides, flights, plays, audits, results,
hearings.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def _fk(name: str, target: str, nullable: bool = False, primary_key: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), nullable=nullable, primary_key=primary_key)


def upgrade() -> None:
    op.create_table(
        "runs",
        _id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_utc", sa.DateTime, nullable=False),
        sa.Column("finished_utc", sa.DateTime, nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("patrol_version", sa.String(32), nullable=False),
        sa.Column("spooled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "compounds",
        _id(),
        sa.Column("code", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("geometry", sa.Text, nullable=True),
        sa.Column("first_seen_utc", sa.DateTime, nullable=False),
        sa.Column("updated_utc", sa.DateTime, nullable=False),
    )
    op.create_table(
        "packages",
        _id(),
        _fk("run_id", "runs.id"),
        sa.Column("manifest_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("planned_utc", sa.DateTime, nullable=False),
        sa.Column("sorties", sa.Integer, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
    )
    op.create_table(
        "package_compounds",
        _fk("package_id", "packages.id", primary_key=True),
        _fk("compound_id", "compounds.id", primary_key=True),
        sa.Column("sorties", sa.String(100), nullable=False),
        sa.Column("predicted_heard_whole_share", sa.Float, nullable=True),
    )
    op.create_table(
        "uploads",
        _id(),
        _fk("run_id", "runs.id"),
        _fk("package_id", "packages.id", nullable=True),
        sa.Column("package_folder", sa.Text, nullable=False),
        sa.Column("sortie", sa.Integer, nullable=False),
        sa.Column("vehicle", sa.String(200), nullable=False),
        sa.Column("at_utc", sa.DateTime, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("mission_items", sa.Integer, nullable=True),
        sa.Column("fence_items", sa.Integer, nullable=True),
        sa.Column("rally_items", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "overrides",
        _id(),
        _fk("run_id", "runs.id"),
        _fk("package_id", "packages.id", nullable=True),
        sa.Column("sortie", sa.Integer, nullable=False),
        sa.Column("at_utc", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("violations", sa.Text, nullable=False),
    )
    op.create_table(
        "flights",
        _id(),
        _fk("run_id", "runs.id"),
        _fk("package_id", "packages.id", nullable=True),
        sa.Column("sortie", sa.Integer, nullable=True),
        sa.Column("vehicle", sa.String(200), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("log_name", sa.Text, nullable=False),
        sa.Column("log_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("log_bytes", sa.Integer, nullable=False),
        sa.Column("start_utc", sa.DateTime, nullable=True),
        sa.Column("end_utc", sa.DateTime, nullable=True),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
    )
    op.create_table(
        "plays",
        _id(),
        _fk("run_id", "runs.id"),
        _fk("package_id", "packages.id", nullable=True),
        sa.Column("sortie", sa.Integer, nullable=True),
        sa.Column("at_utc", sa.DateTime, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("track", sa.Integer, nullable=False),
        sa.Column("prompt_id", sa.String(100), nullable=True),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("evidence", sa.String(100), nullable=False),
    )
    op.create_table(
        "audits",
        _id(),
        _fk("run_id", "runs.id"),
        _fk("package_id", "packages.id", nullable=True),
        sa.Column("package_folder", sa.Text, nullable=False),
        sa.Column("at_utc", sa.DateTime, nullable=False),
        sa.Column("min_coverage", sa.Float, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("flights_key", sa.Text, nullable=False),
        _fk("superseded_by", "audits.id", nullable=True),
    )
    op.create_table(
        "audit_flights",
        _fk("audit_id", "audits.id", primary_key=True),
        _fk("flight_id", "flights.id", primary_key=True),
    )
    op.create_table(
        "audit_results",
        _id(),
        _fk("audit_id", "audits.id"),
        _fk("compound_id", "compounds.id"),
        sa.Column("at_utc", sa.DateTime, nullable=False),
        sa.Column("heard_whole_share", sa.Float, nullable=False),
        sa.Column("in_range_share", sa.Float, nullable=False),
        sa.Column("predicted_heard_whole_share", sa.Float, nullable=True),
        sa.Column("time_over_s", sa.Float, nullable=False),
        sa.Column("passes", sa.Boolean, nullable=False),
        sa.Column("prompts", sa.Text, nullable=False),
        sa.Column("fence_breaches", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "hearings",
        _id(),
        _fk("audit_id", "audits.id"),
        _fk("compound_id", "compounds.id"),
        _fk("flight_id", "flights.id", nullable=True),
        sa.Column("heard_utc", sa.DateTime, nullable=False),
        sa.Column("heard_whole_share", sa.Float, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("ix_hearings_compound_time", "hearings", ["compound_id", "heard_utc"])
    op.create_index("ix_hearings_time", "hearings", ["heard_utc"])
    op.create_index("ix_hearings_audit", "hearings", ["audit_id"])
    op.create_index("ix_hearings_flight", "hearings", ["flight_id"])
    op.create_index("ix_audit_flights_flight", "audit_flights", ["flight_id"])
    op.create_index("ix_audit_results_compound_time", "audit_results", ["compound_id", "at_utc"])
    op.create_index("ix_audit_results_audit", "audit_results", ["audit_id"])
    op.create_index("ix_audits_package", "audits", ["package_id"])
    op.create_index("ix_flights_start", "flights", ["start_utc"])
    op.create_index("ix_plays_time", "plays", ["at_utc"])
    op.create_index("ix_uploads_time", "uploads", ["at_utc"])


def downgrade() -> None:
    for name in (
        "hearings",
        "audit_results",
        "audit_flights",
        "audits",
        "plays",
        "flights",
        "overrides",
        "uploads",
        "package_compounds",
        "packages",
        "compounds",
        "runs",
    ):
        op.drop_table(name)
