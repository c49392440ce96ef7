"""Persistence: tables, engine and session factory, migrations."""
