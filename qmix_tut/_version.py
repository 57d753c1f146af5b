"""The package version, in a module of its own so that reading it imports nothing else.

``pyproject.toml`` reads it from here too, so it is written in one place.
"""

__version__ = "0.1.0"
