"""The one exception type that reaches the user as a one-line message."""

from __future__ import annotations

import signal
import threading
from enum import IntEnum
from types import FrameType


class ExitCode(IntEnum):
    """Every exit status ridectl uses, in one place (scripts depend on them)."""

    #: the command did what was asked and found nothing wrong
    OK = 0
    #: the command worked and the answer is "no": violations found (``check --exit-code``),
    #: a lesson that did not show its promise, a broker that is not running
    FOUND = 1
    #: bad input or a problem the user can fix (an option, a file, an unreachable broker)
    USAGE = 2
    #: a bug in ridectl (sysexits' EX_SOFTWARE)
    SOFTWARE = 70
    #: stopped with Ctrl-C (128 + SIGINT)
    INTERRUPTED = 130


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line ends too) made one space."""
    return " ".join(text.split())


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line, at most 300 characters."""
    return f"{type(exc).__name__}: {one_line(str(exc))}"[:300]


class RidectlError(Exception):
    """A problem the user can act on. The CLI prints ``error: <message>`` and exits with ``code``.

    ``hint`` is appended after the message ("... ; try: ridectl broker up") and should say
    what to do next.
    """

    def __init__(
        self, message: str, *, hint: str | None = None, code: ExitCode = ExitCode.USAGE
    ) -> None:
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


def require_positive(option: str, value: int) -> None:
    """Refuses a count below 1 with the one wording every option uses."""
    if value < 1:
        raise UsageError(f"{option} must be 1 or more, not {value}")


#: Set once Ctrl-C (SIGINT) reached the process, when :func:`note_interrupts` is in place.
_interrupted = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def note_interrupts() -> None:
    """Ctrl-C still raises KeyboardInterrupt, and is remembered (main thread only).

    confluent-kafka loses a KeyboardInterrupt raised while it runs one of our callbacks (a
    delivery report served by ``poll``): the call then fails with a SystemError ("returned
    NULL without setting an exception"; confluentinc/confluent-kafka-python#1146), which
    :func:`is_interrupt` recognises."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C: a KeyboardInterrupt, or a SystemError after a SIGINT."""
    return isinstance(exc, KeyboardInterrupt) or (isinstance(exc, SystemError) and _interrupted)
