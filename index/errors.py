"""The project's one exception base: every error Verbatim raises on purpose is a VerbatimError,
so a caller that wants all of them catches one class (as httpx's `HTTPError`)."""

from __future__ import annotations

__all__ = ["VerbatimError"]


class VerbatimError(Exception):
    """An error Verbatim reports to its user in plain words (the message is meant to be shown)."""
