"""Bare loops of the other clients, the ceilings ridectl's runs with them are compared with.

* ``rdkafka_produce``: a confluent-kafka (librdkafka) producer sends the records of a ridectl
  run, built before the clock starts, with one shared delivery callback, serving callbacks
  with ``poll(0)`` after each record (the library's documented loop); then ``flush()``. The
  steps before the clock come in the order of ridectl's run: the producer is made, then the
  records are built, then the topic's partitions are asked for, so both producers have had
  the same time to connect (and to get an idempotent producer id) when their clocks start.
  The callback notes each record's latency as ridectl does, from its send to the moment its
  acknowledgement is served (here: the time the callback runs less the record's create
  timestamp, which librdkafka takes from the wall clock when the record is produced; to the
  millisecond). librdkafka's own ``latency()`` stops earlier, when the delivery report is
  made, before it waits to be served.
* ``rdkafka_consume``: a librdkafka consumer reads the same bounded range ridectl's
  ``consume`` reads, in batches (``consume(num_messages)``: what is ready, or the first record
  to arrive when nothing is), and keeps nothing. Like ridectl's consumer it asks for the end
  offsets before its assignment, so librdkafka knows the leaders when the read starts.
(The Java client's bare loops are in ``bare_java``.)
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from ridectl.bench.baselines import ConsumeSample, ProduceSample, build_payloads
from ridectl.clients import rdkafka_conf
from ridectl.clients.admin import partition_count
from ridectl.clients.librdkafka_consumer import CONSUMER_DEFAULTS
from ridectl.clients.settings import ClientSettings
from ridectl.run.options import settings_id

_BATCH = 10_000
_DEADLINE_S = 120.0


def _conf(settings: ClientSettings, role: str) -> dict[str, str]:
    conf = rdkafka_conf.translate(settings.values, role)
    conf["bootstrap.servers"] = settings.bootstrap
    return conf


def rdkafka_produce(
    settings: ClientSettings, topic: str, rides: int, keyed: bool, seed: int, run_id: str
) -> ProduceSample:
    """Send a ridectl run's records with a plain librdkafka loop (see module doc)."""
    conf = _conf(settings, "producer")
    # The same order as ridectl's run (ridectl.run.produce.run_produce): the producer first, then
    # the records, then the topic's partitions, then the clock. ridectl's producer connects
    # (and, when idempotent, asks for its producer id) while the records are built; a bare
    # producer made right before its clock would do that on the clock instead.
    producer = Producer(conf)
    label = settings_id(keyed, rdkafka_conf.settings_in_force(conf, "producer"))
    payloads = build_payloads(rides, keyed, seed, run_id, label)
    # Otherwise the first records would wait, unplaced, for metadata on the clock.
    producer.list_topics(topic, timeout=10)
    latencies: list[float] = []
    note = latencies.append
    now = time.time

    def on_ack(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            # From the send (the record's create time) to now, when the acknowledgement is
            # served: what ridectl notes per record.
            note(now() * 1000.0 - msg.timestamp()[1])

    produce, poll = producer.produce, producer.poll
    clock = time.perf_counter
    c0 = time.process_time()
    t0 = clock()
    for key, value in payloads:
        while True:
            try:
                produce(topic, value, key, on_delivery=on_ack)
                break
            except BufferError:
                poll(0.01)
        poll(0)
    producer.flush(60)
    elapsed = clock() - t0
    return ProduceSample.of(payloads, latencies, elapsed, time.process_time() - c0)


def rdkafka_consume(settings: ClientSettings, topic: str) -> ConsumeSample:
    """Read a topic from the beginning to its current end offsets and keep nothing."""
    t0 = time.perf_counter()
    partitions = partition_count(settings, topic)
    conf = {**CONSUMER_DEFAULTS, **_conf(settings, "consumer")}
    conf.setdefault("group.id", f"ridectl-bench-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(conf)
    count = 0
    try:
        # The end offsets before the assignment: librdkafka then knows the leaders and
        # starts reading at once (ridectl's consumer does the same).
        end = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        t1 = time.perf_counter()
        pending = {p for p, high in end.items() if high > 0}
        consume = consumer.consume
        while pending:
            # What is ready; when nothing is, wait for one record (a large batch with a
            # timeout would wait the timeout out at the end of the range).
            messages = consume(_BATCH, 0) or consume(1, 0.5)
            for m in messages:
                if m.error() is not None:
                    continue
                count += 1
                p = m.partition()
                if p in pending and (m.offset() or 0) + 1 >= end[p]:
                    pending.discard(p)
            if time.perf_counter() - t1 > _DEADLINE_S:
                raise RuntimeError(f"reading {topic} took more than {_DEADLINE_S:g} s")
        loop = time.perf_counter() - t1
    finally:
        consumer.close()
    return ConsumeSample(count, time.perf_counter() - t0, loop)
