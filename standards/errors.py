"""Errors raised while loading and validating standards."""

from __future__ import annotations

import os

__all__ = ["StandardError"]


class StandardError(Exception):
    """A standard file could not be decoded or failed validation.

    ``str(err)`` reads ``"<path>: <message>"``.
    """

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = os.fspath(path)
        self.message = message
        super().__init__(self.path, message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
