"""Domain exceptions: each carries a ``user_message`` that names the thing and the fix."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error raised by the pure domain layer."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ValidationError(DomainError, ValueError):
    """An input (amount, leverage, rate, time, ...) is not acceptable."""


class SizingError(ValidationError):
    """An order amount cannot be placed on one of the exchanges."""


class LeverageError(ValidationError):
    """A leverage request or a leverage tier table is not acceptable."""
