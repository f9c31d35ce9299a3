"""holdspace: a practice room for peer support specialists who facilitate groups."""

__version__ = "0.1.0"
