"""The ledger's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create exactly these
(tested); change both together, with a new migration, and move :data:`HEAD` to it.

Times are UTC, stored without a zone. A compound is known by its id (``code``) across packages: ids must be
unique in one ledger (a city's ids). Rows are never deleted: an audit replaced by a later audit of the same
flights and more is marked ``superseded_by`` and its results ``active = false``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

HEAD = "0001_initial"
"""The newest schema revision this patrol knows (the head of ``migrations/versions``)."""

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # plan | upload | fly | broadcast | audit | import | sync
    Column("started_utc", DateTime, nullable=False),
    Column("finished_utc", DateTime, nullable=False),
    Column("operator", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("command", Text, nullable=False),
    Column("patrol_version", String(32), nullable=False),
    Column("spooled", Boolean, nullable=False, default=False),  # written later from the local spool
)

compounds = Table(
    "compounds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("geometry", Text, nullable=True),  # GeoJSON geometry, WGS84, as last planned
    Column("first_seen_utc", DateTime, nullable=False),
    Column("updated_utc", DateTime, nullable=False),
)

packages = Table(
    "packages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("manifest_sha256", String(64), nullable=False, unique=True),
    Column("folder", Text, nullable=False),
    Column("planned_utc", DateTime, nullable=False),
    Column("sorties", Integer, nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: [{path, sha256}]
    Column("parameters", Text, nullable=False),  # JSON: the manifest's parameters
)

package_compounds = Table(
    "package_compounds",
    metadata,
    Column("package_id", ForeignKey("packages.id"), primary_key=True),
    Column("compound_id", ForeignKey("compounds.id"), primary_key=True),
    Column("sorties", String(100), nullable=False),  # e.g. "4" or "4,5"
    Column("predicted_heard_whole_share", Float, nullable=True),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("package_id", ForeignKey("packages.id"), nullable=True),
    Column("package_folder", Text, nullable=False),
    Column("sortie", Integer, nullable=False),
    Column("vehicle", String(200), nullable=False),
    Column("at_utc", DateTime, nullable=False),
    Column("verified", Boolean, nullable=False),  # read back and identical
    Column("mission_items", Integer, nullable=True),
    Column("fence_items", Integer, nullable=True),
    Column("rally_items", Integer, nullable=True),
    Column("detail", Text, nullable=False),  # what went wrong, or "identical"
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("package_id", ForeignKey("packages.id"), nullable=True),
    Column("sortie", Integer, nullable=False),
    Column("at_utc", DateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("violations", Text, nullable=False),  # JSON list
)

flights = Table(
    "flights",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("package_id", ForeignKey("packages.id"), nullable=True),
    Column("sortie", Integer, nullable=True),
    Column("vehicle", String(200), nullable=False),
    Column("operator", String(200), nullable=False),
    Column("log_name", Text, nullable=False),
    Column("log_sha256", String(64), nullable=False, unique=True),
    Column("log_bytes", Integer, nullable=False),
    Column("start_utc", DateTime, nullable=True),
    Column("end_utc", DateTime, nullable=True),
    Column("duration_s", Float, nullable=False),
    Column("source", String(16), nullable=False),  # fly | import | audit
    Column("outcome", Text, nullable=False),
)

plays = Table(
    "plays",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("package_id", ForeignKey("packages.id"), nullable=True),
    Column("sortie", Integer, nullable=True),
    Column("at_utc", DateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("track", Integer, nullable=False),
    Column("prompt_id", String(100), nullable=True),
    Column("lang", String(16), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("evidence", String(100), nullable=False),
)

audits = Table(
    "audits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("package_id", ForeignKey("packages.id"), nullable=True),
    Column("package_folder", Text, nullable=False),
    Column("at_utc", DateTime, nullable=False),
    Column("min_coverage", Float, nullable=False),
    Column("output", Text, nullable=False),
    Column("flights_key", Text, nullable=False),  # the audited logs' hashes, sorted, comma-joined
    Column("superseded_by", ForeignKey("audits.id"), nullable=True),
)

audit_flights = Table(
    "audit_flights",
    metadata,
    Column("audit_id", ForeignKey("audits.id"), primary_key=True),
    Column("flight_id", ForeignKey("flights.id"), primary_key=True),
)

audit_results = Table(
    "audit_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audit_id", ForeignKey("audits.id"), nullable=False),
    Column("compound_id", ForeignKey("compounds.id"), nullable=False),
    Column("at_utc", DateTime, nullable=False),  # the last whole warning over it, else the flights' end
    Column("heard_whole_share", Float, nullable=False),
    Column("in_range_share", Float, nullable=False),
    Column("predicted_heard_whole_share", Float, nullable=True),
    Column("time_over_s", Float, nullable=False),
    Column("passes", Boolean, nullable=False),
    Column("prompts", Text, nullable=False),  # prompt ids heard there, sorted, comma-joined
    Column("fence_breaches", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

hearings = Table(
    "hearings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audit_id", ForeignKey("audits.id"), nullable=False),
    Column("compound_id", ForeignKey("compounds.id"), nullable=False),
    Column("flight_id", ForeignKey("flights.id"), nullable=True),  # None: heard whole only by flights together
    Column("heard_utc", DateTime, nullable=False),
    Column("heard_whole_share", Float, nullable=False),
    Column("active", Boolean, nullable=False),
)

Index("ix_hearings_compound_time", hearings.c.compound_id, hearings.c.heard_utc)
Index("ix_hearings_time", hearings.c.heard_utc)
Index("ix_hearings_audit", hearings.c.audit_id)
Index("ix_hearings_flight", hearings.c.flight_id)
Index("ix_audit_flights_flight", audit_flights.c.flight_id)
Index("ix_audit_results_compound_time", audit_results.c.compound_id, audit_results.c.at_utc)
Index("ix_audit_results_audit", audit_results.c.audit_id)
Index("ix_audits_package", audits.c.package_id)
Index("ix_flights_start", flights.c.start_utc)
Index("ix_plays_time", plays.c.at_utc)
Index("ix_uploads_time", uploads.c.at_utc)
