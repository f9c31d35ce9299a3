"""Ordered schema changes, one file each."""
