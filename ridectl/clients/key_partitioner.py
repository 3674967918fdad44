"""kafka-python's ``partitioner=`` hook, placing keyed records with one of the hashes of
ridectl.clients.partitioners (so one producer can place keys the way another client would)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from kafka.partitioner import Partitioner

from ridectl.clients.partitioners import lookup


class KeyPartitioner(Partitioner):  # type: ignore[misc]
    """A kafka-python ``partitioner=`` that places keyed records with a named hash.

    Records with a null key, or a key the hash leaves to chance (``crc32`` and an empty key),
    go to a random available partition, as kafka-python's default does for null keys."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fn = lookup(name)

    # Any: kafka-python calls this with the user's key and value objects and its own cluster
    # metadata object, as its partitioner interface has it.
    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: bytes | None,
        cluster: Any,
    ) -> int:
        all_partitions: Sequence[int] = sorted(cluster.partitions_for_topic(topic) or ())
        if not all_partitions:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        if serialized_key is not None:
            index = self._fn(serialized_key, len(all_partitions))
            if index is not None:
                return all_partitions[index]
        available: list[int] = list(cluster.available_partitions_for_topic(topic) or ())
        return random.choice(available or list(all_partitions))

    def __repr__(self) -> str:
        return f"KeyPartitioner({self.name!r})"


def kafka_partitioner(name: str) -> KeyPartitioner:
    """A partitioner for ``KafkaProducer(partitioner=...)`` that routes keyed records like the
    named client does (raises UsageError for an unknown name)."""
    return KeyPartitioner(name)
