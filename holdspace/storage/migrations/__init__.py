"""Alembic migrations for holdspace's database (run with `holdspace db upgrade`)."""
