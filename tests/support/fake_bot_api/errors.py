"""What the fake server answers instead of a result."""

from __future__ import annotations

from typing import Any


class BadRequest(Exception):
    """A refusal as Telegram sends it: HTTP code, description and optional parameters."""

    def __init__(self, description: str, code: int = 400,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.parameters = description, code, parameters


class Gone(Exception):
    """The server went away while a request was waiting."""
