"""Alembic migrations of the ledger schema, run by :func:`patrol.ledger.store.open_ledger` on open.

A new schema: change :mod:`patrol.ledger.schema`, add ``versions/NNNN_what.py`` with ``down_revision`` the
previous head (``alembic -c patrol/ledger/migrations/alembic.ini revision -m what`` writes one from
``script.py.mako``; give it ``revision = "NNNN_what"``), and move ``schema.HEAD`` to it.
"""
