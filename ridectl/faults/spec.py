"""Fault specs: the text grammar ``KIND[:key=value,...]`` and which produce requests a fault hits.

Kinds (what happens to a chosen Produce request):

``error``
    The proxy answers the request itself with an error code for each of its partitions and
    never forwards it, so nothing is written.
``lost-ack``
    The request reaches the broker and is written; the proxy then swaps the broker's success
    for the error code. A producer that retries writes the records a second time unless it is
    idempotent.
``delay``
    The broker's answer is held back ``ms`` milliseconds (answers behind it on the same
    connection wait too, because Kafka answers in request order).
``disconnect``
    The proxy drops the client connection and its broker connection, losing every answer
    still outstanding on it. The chosen request itself is not forwarded.

Which requests: produce requests are numbered 1, 2, 3, ... in the order the proxy receives
them (one counter for the whole proxy, retries included). ``after=N`` skips the first N and
numbers the rest from 1 again; then exactly one of

* ``every=N``: numbers N, 2N, 3N, ...
* ``first=K``: numbers 1..K
* ``rate=R[,seed=S]``: each number independently with probability R. The decision is a hash
  of (seed, request number), so the same seed and settings always pick the same numbers,
  whatever the timing.

picks the requests. Without any of them a fault hits every produce request.

Error codes (``code=NAME|NUMBER``, for ``error`` and ``lost-ack``): the default is
REQUEST_TIMED_OUT (7). Every client retries it, it does not make the client refresh its
metadata (NOT_LEADER_OR_FOLLOWER does, which adds Metadata round trips to the picture), and it
is an honest answer for both kinds: a timed-out produce may or may not have been written.
Any other code of Kafka's error table is accepted. Codes the producer does not retry (for
example CORRUPT_MESSAGE, 2, in kafka-python) make it give up on the batch: that shows lost
records instead of reordered ones, which is a lesson of its own, so they are allowed and
``describe()`` says so.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import StrEnum

import kafka.errors as kafka_errors

from ridectl.errors import UsageError, one_line

__all__ = [
    "DEFAULT_ERROR_CODE",
    "VALID_FORMS",
    "FaultKind",
    "FaultSpec",
    "error_code_name",
    "error_code_retriable",
    "parse_error_code",
    "parse_fault_spec",
]

VALID_FORMS = (
    "error[:SELECT][,code=NAME|NUMBER][,ms=N][,hold=N], "
    "lost-ack[:SELECT][,code=NAME|NUMBER][,ms=N], "
    "delay:ms=N[,SELECT], disconnect[:SELECT]; "
    "SELECT is every=N, first=K or rate=R[,seed=S], optionally with after=N"
)

DEFAULT_ERROR_CODE = 7  # REQUEST_TIMED_OUT
MAX_DELAY_MS = 600_000

# Names Apache Kafka uses today where kafka-python still carries an older one.
_KAFKA_NAMES: dict[int, str] = {-1: "UNKNOWN_SERVER_ERROR", 6: "NOT_LEADER_OR_FOLLOWER"}


class FaultKind(StrEnum):
    """What a fault does to the produce request it hits."""

    ERROR = "error"
    LOST_ACK = "lost-ack"
    DELAY = "delay"
    DISCONNECT = "disconnect"


_CODE_KINDS = frozenset({FaultKind.ERROR, FaultKind.LOST_ACK})
_SELECT_KEYS = ("every", "first", "rate")
_SELECTION = frozenset({*_SELECT_KEYS, "seed", "after"})
#: The keys each kind accepts (the selection keys, plus its own).
_KEYS: dict[FaultKind, frozenset[str]] = {
    FaultKind.ERROR: _SELECTION | {"code", "ms", "hold"},
    FaultKind.LOST_ACK: _SELECTION | {"code", "ms"},
    FaultKind.DELAY: _SELECTION | {"ms"},
    FaultKind.DISCONNECT: _SELECTION,
}


def _error_table() -> dict[int, type[kafka_errors.KafkaError]]:
    return {
        code: cls
        for code, cls in kafka_errors.kafka_errors.items()
        if isinstance(code, int) and code != 0
    }


def error_code_name(code: int) -> str:
    """Kafka's name for an error code, e.g. 7 -> ``REQUEST_TIMED_OUT``."""
    if code in _KAFKA_NAMES:
        return _KAFKA_NAMES[code]
    cls = _error_table().get(code)
    return str(cls.message) if cls is not None else f"ERROR_{code}"


def error_code_retriable(code: int) -> bool:
    """Whether kafka-python's producer retries a batch that failed with ``code``."""
    cls = _error_table().get(code)
    return bool(cls is not None and cls.retriable)


def parse_error_code(text: str) -> int:
    """An error code from a name (any case) or a number; ValueError when Kafka has no such code."""
    table = _error_table()
    word = text.strip()
    try:
        number = int(word)
    except ValueError:
        wanted = word.upper().replace("-", "_")
        for code in table:
            if wanted in (error_code_name(code), str(table[code].message)):
                return code
        raise ValueError(f"unknown error code {text!r}") from None
    if number not in table:
        raise ValueError(f"unknown error code {text!r}")
    return number


def _hash_fraction(seed: int, number: int) -> float:
    """A number in [0, 1) fixed by (seed, number) alone, the same on every machine and run."""
    digest = hashlib.blake2b(f"{seed}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class FaultSpec:
    """One fault and the produce requests it hits. Build it with ``parse_fault_spec`` or
    directly; the constructor checks the same rules as the parser (ValueError)."""

    kind: FaultKind
    every: int | None = None
    first: int | None = None
    rate: float | None = None
    seed: int | None = None
    after: int = 0
    code: int | None = None
    ms: int | None = None
    #: error only: answer once this many more produce requests arrived on the connection
    hold: int | None = None

    def __post_init__(self) -> None:
        kind = FaultKind(self.kind)
        object.__setattr__(self, "kind", kind)
        chosen = [key for key in _SELECT_KEYS if getattr(self, key) is not None]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)} exclude each other: pick one")
        if self.every is not None and self.every < 1:
            raise ValueError(f"every must be 1 or more, not {self.every}")
        if self.every == 1:
            # "every request" is also what no selection means: keep one spelling of it.
            object.__setattr__(self, "every", None)
        if self.first is not None and self.first < 1:
            raise ValueError(f"first must be 1 or more, not {self.first}")
        if self.rate is not None:
            rate = float(self.rate)
            if not (math.isfinite(rate) and 0.0 < rate <= 1.0):
                raise ValueError(f"rate must be in (0, 1], not {self.rate}")
            object.__setattr__(self, "rate", rate)
            if self.seed is None:
                object.__setattr__(self, "seed", 0)
        elif self.seed is not None:
            raise ValueError("seed only goes with rate")
        if self.after < 0:
            raise ValueError(f"after must be 0 or more, not {self.after}")
        if kind in _CODE_KINDS:
            if self.code is None:
                object.__setattr__(self, "code", DEFAULT_ERROR_CODE)
            elif self.code not in _error_table():
                raise ValueError(f"unknown error code {self.code}")
        elif self.code is not None:
            raise ValueError(f"code only goes with error and lost-ack, not {kind}")
        if self.hold is not None:
            if kind is not FaultKind.ERROR:
                raise ValueError(f"hold only goes with error, not {kind}")
            if not 1 <= self.hold <= 1000:
                raise ValueError(f"hold must be in 1..1000, not {self.hold}")
        if kind is FaultKind.DELAY and self.ms is None:
            raise ValueError("delay needs ms=N")
        if self.ms is not None:
            if kind is FaultKind.DISCONNECT:
                raise ValueError("ms goes with delay, error and lost-ack, not disconnect")
            if not 0 <= self.ms <= MAX_DELAY_MS:
                raise ValueError(f"ms must be in 0..{MAX_DELAY_MS}, not {self.ms}")

    def selects(self, number: int) -> bool:
        """Whether this fault hits produce request ``number`` (counted from 1)."""
        local = number - self.after
        if local < 1:
            return False
        if self.every is not None:
            return local % self.every == 0
        if self.first is not None:
            return local <= self.first
        if self.rate is not None:
            return _hash_fraction(self.seed or 0, local) < self.rate
        return True

    @property
    def error_code(self) -> int:
        """The code an ``error``/``lost-ack`` fault answers with."""
        return self.code if self.code is not None else DEFAULT_ERROR_CODE

    def _selection_text(self) -> str:
        if self.every is not None:
            text = f"every {_nth(self.every)} produce request"
        elif self.first is not None:
            text = (
                "the first produce request"
                if self.first == 1
                else f"the first {self.first} produce requests"
            )
        elif self.rate is not None:
            text = f"{self.rate * 100:g}% of produce requests (seed {self.seed})"
        else:
            text = "every produce request"
        if self.after:
            text += f" after the first {self.after}"
        return text

    def describe(self) -> str:
        """One line for summaries, e.g. ``error REQUEST_TIMED_OUT (7) on every 3rd produce
        request: answered by the proxy, not written``."""
        where = self._selection_text()
        if self.kind in _CODE_KINDS:
            code = self.error_code
            what = f"{self.kind} {error_code_name(code)} ({code}) on {where}"
            if self.kind is FaultKind.ERROR:
                what += ": answered by the proxy, not written"
            else:
                what += ": written, then the success is replaced by the error"
            if self.hold:
                what += f", answered once {self.hold} more requests arrived"
            if self.ms:
                what += f", answered after {self.ms} ms"
            if not error_code_retriable(code):
                what += " (kafka-python does not retry this code: the batch fails)"
            return what
        if self.kind is FaultKind.DELAY:
            return f"delay answers {self.ms} ms on {where}"
        return f"disconnect on {where}: the connection drops with requests in flight"

    def __str__(self) -> str:
        parts: list[str] = []
        if self.every is not None:
            parts.append(f"every={self.every}")
        elif self.first is not None:
            parts.append(f"first={self.first}")
        elif self.rate is not None:
            parts.append(f"rate={self.rate!r}")
            parts.append(f"seed={self.seed}")
        if self.after:
            parts.append(f"after={self.after}")
        if self.kind in _CODE_KINDS:
            parts.append(f"code={error_code_name(self.error_code)}")
        if self.ms is not None:
            parts.append(f"ms={self.ms}")
        if self.hold is not None:
            parts.append(f"hold={self.hold}")
        return f"{self.kind}:{','.join(parts)}" if parts else str(self.kind)


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _int_value(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{key} needs a whole number, not {value!r}") from None


_INT_KEYS = frozenset({"every", "first", "seed", "after", "ms", "hold"})


def _build(text: str) -> FaultSpec:
    head, colon, tail = text.strip().partition(":")
    kind_word = head.strip().lower()
    try:
        kind = FaultKind(kind_word)
    except ValueError:
        raise ValueError(f"unknown kind {head.strip()!r}") from None
    if colon and not tail.strip():
        raise ValueError("nothing after ':'")
    seen: dict[str, str] = {}
    for item in tail.split(",") if colon else []:
        key, eq, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq or not key or not value:
            raise ValueError(f"{item.strip()!r} is not key=value")
        if key in seen:
            raise ValueError(f"{key} given twice")
        seen[key] = value
    unknown = [key for key in seen if key not in _KEYS[kind]]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} for {kind}")
    rate: float | None = None
    if "rate" in seen:
        try:
            rate = float(seen["rate"])
        except ValueError:
            raise ValueError(f"rate needs a number, not {seen['rate']!r}") from None
    ints = {key: _int_value(key, seen[key]) for key in seen if key in _INT_KEYS}
    return FaultSpec(
        kind=kind,
        every=ints.get("every"),
        first=ints.get("first"),
        rate=rate,
        seed=ints.get("seed"),
        after=ints.get("after", 0),
        code=parse_error_code(seen["code"]) if "code" in seen else None,
        ms=ints.get("ms"),
        hold=ints.get("hold"),
    )


def parse_fault_spec(text: str) -> FaultSpec:
    """Parse ``KIND[:key=value,...]``; a UsageError names the problem and the valid forms."""
    try:
        return _build(text)
    except ValueError as exc:
        shown = one_line(text)
        raise UsageError(f"bad fault spec {shown!r}: {exc} (valid: {VALID_FORMS})") from None
