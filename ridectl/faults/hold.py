"""Error answers held back until more Produce requests arrived (``error:...,hold=N``).

The point of ``hold=N`` is a repeatable reordering: the failing request is answered only after
the client sent N more requests on the same connection, so exactly N requests overtake it
whatever the timing. The count is the only rule for a client that pipelines; client silence
is no evidence that it cannot send more (a client starved of CPU for a while is silent too,
and answering then would let fewer requests overtake, which shifts every later request
number). Silence only counts once the held answer is the next one the client is owed (the
ones before it are written), and even then only after HOLD_FALLBACK_S: in practice the end
of a run, when the client has nothing left to send.

A client that never had more than one Produce answer owed on the connection (one request in
flight) cannot send anything more while it waits; its held answer goes out as soon as it is
the next one owed. An idempotent producer (its batches carry a producer id) may stop sending
behind a failed batch until it knows what became of it (the Java client retries one batch at
a time, in sequence order); the broker keeps its order by sequence numbers whatever overtakes,
so its held answer goes out after a short silence (SEQUENCED_IDLE_S) once it is next.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ridectl.faults.requests import HoldRelease, RequestLog

__all__ = ["HOLD_FALLBACK_S", "SEQUENCED_IDLE_S", "HeldAnswers"]

#: A held answer that is next in line goes out anyway after this long without a request from
#: a client that pipelines (the end of a run: it has nothing more to send).
HOLD_FALLBACK_S = 1.0
#: The silence after which an idempotent producer's held answer that is next goes out.
SEQUENCED_IDLE_S = 0.03


@dataclass(frozen=True)
class Held:
    """An error answer waiting until ``due`` Produce requests were seen on the connection."""

    number: int
    """The proxy-wide number of the failed request."""
    ready: asyncio.Future[bytes]
    data: bytes
    due: int
    since: int
    """Produce requests seen on the connection when it was held (itself included)."""
    sequenced: bool = False
    """Its batches carry a producer id (idempotent producer)."""


class HeldAnswers:
    """The held answers of one connection, and what the proxy knows of the client's pipeline."""

    def __init__(self, requests: RequestLog, fallback_s: float = HOLD_FALLBACK_S) -> None:
        self.requests = requests
        self.fallback_s = fallback_s
        self.held: list[Held] = []
        #: Produce requests seen on the connection (acks=0 ones too: they overtake as well)
        self.seen = 0
        #: Produce answers owed and not yet written to the client; the most there ever were
        self.unanswered = 0
        self.deepest = 0
        #: the answer the connection's writer waits for (the next one the client gets)
        self.next_out: asyncio.Future[bytes] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def arrived(self, expects_answer: bool) -> None:
        """A Produce request came in (before any fault acted on it)."""
        self.seen += 1
        if expects_answer:
            self.unanswered += 1
            self.deepest = max(self.deepest, self.unanswered)

    def answer_written(self) -> None:
        """A Produce answer is being written to the client (call before writing it)."""
        self.unanswered -= 1

    def hold(
        self,
        number: int,
        ready: asyncio.Future[bytes],
        data: bytes,
        after: int,
        sequenced: bool = False,
    ) -> None:
        self.held.append(Held(number, ready, data, self.seen + after, self.seen, sequenced))

    def after_request(self) -> None:
        """Answer the held errors whose number of following requests has now arrived."""
        due = [h for h in self.held if h.due <= self.seen]
        if due:
            self.held = [h for h in self.held if h.due > self.seen]
            for held in due:
                self._let_go(held, HoldRelease.COUNT)
        self._rearm()

    def writer_waits_on(self, ready: asyncio.Future[bytes]) -> None:
        """The connection's writer now waits for ``ready`` (every answer before it is out)."""
        self.next_out = ready
        self._rearm()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _rearm(self) -> None:
        """Restart the silence fallback for the first held answer if the client is owed
        nothing before it; answer it at once if the client never pipelined."""
        self.close()
        if not self.held or self.held[0].ready is not self.next_out:
            return
        if self.deepest <= 1:
            self._let_go(self.held.pop(0), HoldRelease.ALONE)
            return
        wait_s = SEQUENCED_IDLE_S if self.held[0].sequenced else self.fallback_s
        self.timer = asyncio.get_running_loop().call_later(wait_s, self._silent)

    def _silent(self) -> None:
        self.timer = None
        if self.held and self.held[0].ready is self.next_out:
            self._let_go(self.held.pop(0), HoldRelease.IDLE)

    def _let_go(self, held: Held, how: HoldRelease) -> None:
        self.requests.released(held.number, how, self.seen - held.since)
        if not held.ready.done():  # cancelled when the connection closed
            held.ready.set_result(held.data)
