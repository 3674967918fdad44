"""The callbacks the librdkafka adapter hands to confluent-kafka: one per record for its
outcome, and the producer-wide error and statistics callbacks.

librdkafka keeps every callback it is given for as long as it needs it (a record's until its
outcome is served, the producer-wide ones until the client is destroyed), so what they hold on
to decides both how much the garbage collector has to watch and when a closed client is freed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

import msgspec
from confluent_kafka import KafkaError, Message

from ridectl.clients.base import Delivery, DeliveryCallback
from ridectl.errors import one_line

_Arg = TypeVar("_Arg")


class RecordCallback(msgspec.Struct, gc=False):
    """One record's delivery callback: its index and where its outcome goes.

    librdkafka holds each record's callback until the record's outcome is served, so tens of
    thousands are alive at once during a run. A ``functools.partial`` (or any plain Python
    object) would be watched by the garbage collector: they pile up in its oldest generation
    and make it walk every object of the process again and again while records are sent
    (measured: about a tenth of a 30,000-record run). A msgspec struct without GC support
    holds the same fields unwatched, and is cheaper to build."""

    index: int
    #: where a record written goes (the callback's ``acked`` when it is an AckSink)
    acked: Callable[[int, int, int], None]
    on_delivery: DeliveryCallback

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            # librdkafka reports some records as delivered without an offset: an idempotent
            # producer that infers a record was persisted (its later sequence numbers were
            # accepted) has no offset to give. -1 keeps that visible to the checker.
            offset = msg.offset()
            partition = msg.partition()
            self.acked(
                self.index,
                -1 if partition is None else partition,
                -1 if offset is None else offset,
            )
        else:
            self.on_delivery(Delivery(self.index, -1, -1, err.name(), one_line(err.str())))


def weakly(method: Callable[[_Arg], None]) -> Callable[[_Arg], None]:
    """``method`` (bound to an object) called through a weak reference to that object; a call
    after the object is gone does nothing.

    For the producer-wide callbacks: librdkafka's handle keeps them alive, and the adapter
    keeps the handle, so bound methods would make a cycle (handle, method, adapter, handle)
    that only a full cyclic garbage collection frees. A closed producer, with its librdkafka
    threads and connections, would then live on until such a collection ran, and that
    collection would also wait for those threads to stop (measured: such collections of
    48-192 ms inside the next run's set-up). Without the cycle the handle is freed as soon as
    the adapter's last user lets go of it."""
    ref = weakref.WeakMethod(method)

    def call(arg: _Arg) -> None:
        bound = ref()
        if bound is not None:
            bound(arg)

    return call
