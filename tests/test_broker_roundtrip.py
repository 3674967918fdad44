"""The first end-to-end check: the broker the session started accepts and serves records."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

pytestmark = pytest.mark.kafka


def test_produce_and_read_back(kafka_bootstrap: str, new_topic: Callable[[str], str]) -> None:
    topic = new_topic("roundtrip")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    futures = [
        producer.send(topic, key=f"k{i % 7}".encode(), value=str(i).encode()) for i in range(300)
    ]
    producer.flush()
    metas = [f.get(timeout=10) for f in futures]
    producer.close()
    assert {m.partition for m in metas} <= {0, 1, 2}

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(3)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    end = consumer.end_offsets(tps)
    assert sum(end.values()) == 300
    got: dict[int, list[int]] = {}
    while any(consumer.position(tp) < end[tp] for tp in tps):
        for tp, records in consumer.poll(timeout_ms=1000).items():
            got.setdefault(tp.partition, []).extend(int(r.value) for r in records)
    consumer.close()
    assert sorted(v for vs in got.values() for v in vs) == list(range(300))
    # Within a partition the broker keeps the send order of one producer.
    for values in got.values():
        assert values == sorted(values)
