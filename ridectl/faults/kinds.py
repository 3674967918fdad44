"""What each fault kind does on the wire: one class per kind, in one place.

A connection asks the kind of the fault that selected a Produce request two things:

* ``on_request``: before forwarding. The kind may answer the request itself (``error``),
  drop the connection (``disconnect``) or let it go to the broker (the others);
* ``on_response``: when the broker's answer arrives. The kind may replace it (``lost-ack``)
  and hold it back for some milliseconds (``delay``, and ``lost-ack`` with ``ms``).

Adding a kind: a class here (registered in ``_BEHAVIOURS``) and its grammar in ``spec.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Protocol

from ridectl.faults.protocol import ProduceInfo, produce_error_response
from ridectl.faults.spec import FaultKind, FaultSpec
from ridectl.faults.stats import Fate

__all__ = ["FaultBehaviour", "PendingAnswer", "ProduceCall", "Verdict", "behaviour_of"]


class Verdict(Enum):
    """What the connection does with a Produce request after the fault's ``on_request``."""

    FORWARD = "forward"
    """Send it to the broker."""
    KEEP = "keep"
    """Not forwarded: the fault answered it (or, acks=0, swallowed it)."""
    DROP_CONNECTION = "drop-connection"
    """Close the client and broker sockets now; every answer still owed is lost."""


@dataclass(frozen=True)
class ProduceCall:
    """A Produce request a fault selected."""

    produce: ProduceInfo
    api_version: int
    correlation_id: int

    def error_answer(self, code: int) -> bytes:
        """A framed answer that fails every partition of the request with ``code``."""
        return produce_error_response(self.produce, self.api_version, self.correlation_id, code)


@dataclass(frozen=True)
class PendingAnswer:
    """An answer a fault gives in place of the broker, and when."""

    data: bytes
    error_code: int
    delay_ms: int | None = None
    #: answer once this many more Produce requests arrived on the connection
    after_requests: int | None = None


class FaultBehaviour(Protocol):
    kind: ClassVar[FaultKind]
    #: whether it acts on Produce requests with acks=0 (which get no answer from Kafka)
    acts_without_answer: ClassVar[bool]
    #: how the request is settled in the ledger once the client got its answer
    fate: ClassVar[Fate]

    def on_request(
        self, spec: FaultSpec, call: ProduceCall
    ) -> tuple[Verdict, PendingAnswer | None]:
        """Decide before forwarding; an answer only with ``Verdict.KEEP``."""
        ...

    def on_response(self, spec: FaultSpec, call: ProduceCall) -> tuple[int | None, int | None]:
        """The broker answered: the error code to answer with in place of the broker's answer
        (None: the broker's own answer goes through) and how many ms to hold it back."""
        ...


class _Forward:
    kind: ClassVar[FaultKind]
    acts_without_answer: ClassVar[bool] = False
    fate: ClassVar[Fate] = Fate.BROKER_ANSWERED

    def on_request(
        self, spec: FaultSpec, call: ProduceCall
    ) -> tuple[Verdict, PendingAnswer | None]:
        return Verdict.FORWARD, None

    def on_response(self, spec: FaultSpec, call: ProduceCall) -> tuple[int | None, int | None]:
        return None, None


class ErrorFault(_Forward):
    """Answer the request itself with the error for each of its partitions; never forwarded.
    ``hold=N`` answers once N more requests arrived (the client's pipeline is then full behind
    the failing one whatever the timing; see ridectl.faults.hold for a client that cannot send
    that many); ``ms`` answers after a time."""

    kind = FaultKind.ERROR
    acts_without_answer = True
    fate = Fate.FAULT_ANSWERED

    def on_request(
        self, spec: FaultSpec, call: ProduceCall
    ) -> tuple[Verdict, PendingAnswer | None]:
        if not call.produce.expects_response:
            return Verdict.KEEP, None  # acks=0: swallowed, as acks=0 permits
        code = spec.error_code
        answer = PendingAnswer(call.error_answer(code), code, spec.ms or None, spec.hold)
        return Verdict.KEEP, answer


class LostAckFault(_Forward):
    """Forward the request (it is written) and replace the broker's success by the error."""

    kind = FaultKind.LOST_ACK
    fate = Fate.ACK_REPLACED

    def on_response(self, spec: FaultSpec, call: ProduceCall) -> tuple[int | None, int | None]:
        return spec.error_code, spec.ms or None


class DelayFault(_Forward):
    """Hold the broker's answer back; answers behind it on the connection wait too."""

    kind = FaultKind.DELAY

    def on_response(self, spec: FaultSpec, call: ProduceCall) -> tuple[int | None, int | None]:
        return None, spec.ms or None


class DisconnectFault(_Forward):
    """Do not forward the request; drop the client and broker connections."""

    kind = FaultKind.DISCONNECT
    acts_without_answer = True

    def on_request(
        self, spec: FaultSpec, call: ProduceCall
    ) -> tuple[Verdict, PendingAnswer | None]:
        return Verdict.DROP_CONNECTION, None


_BEHAVIOURS: dict[FaultKind, FaultBehaviour] = {
    b.kind: b for b in (ErrorFault(), LostAckFault(), DelayFault(), DisconnectFault())
}


def behaviour_of(spec: FaultSpec) -> FaultBehaviour:
    return _BEHAVIOURS[spec.kind]
