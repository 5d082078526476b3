"""Alembic's entry point for the ``alembic`` command (developers writing migrations); patrol runs the
migrations itself in :func:`patrol.ledger.store.migrate` without this file. Importing it elsewhere does nothing."""

from __future__ import annotations

from alembic import context


def run() -> None:
    """Migrate (or compare) the ledger ``PATROL_LEDGER`` / the default names, as the ``alembic`` command asks."""
    from sqlalchemy import create_engine

    from patrol.ledger.config import ledger_url
    from patrol.ledger.schema import metadata

    engine = create_engine(ledger_url(None).url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if getattr(context, "config", None) is not None:
    run()
