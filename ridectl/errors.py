"""The one exception type that reaches the user as a one-line message."""

from __future__ import annotations


class RidectlError(Exception):
    """A problem the user can act on. The CLI prints ``error: <message>`` and exits with ``code``.

    ``hint`` is appended after the message ("... ; try: ridectl broker up") and should say
    what to do next.
    """

    def __init__(self, message: str, *, hint: str | None = None, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(RidectlError):
    """Bad input from the user (an option value, a file, a spec)."""


class BrokerError(RidectlError):
    """The local broker could not be set up, started or reached."""
