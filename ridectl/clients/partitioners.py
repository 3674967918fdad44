"""Key -> partition functions of common Kafka clients, so one producer can place records the way
another client would (the mixed-client lesson: the same key lands on different partitions).

Each function takes the serialized key and the partition count and returns a partition, or
None where that client picks a partition at random (no stable placement for that key).

* ``murmur2``: the Java client's default for keyed records, ``toPositive(murmur2(key)) % n`` with
  ``toPositive(x) = x & 0x7fffffff``, with the Java client's murmur2 (seed 0x9747b28c).
  An empty key is still hashed (only a null key is unkeyed).
* ``crc32``: librdkafka's default ``consistent_random`` (kcat, confluent-kafka): CRC-32 of the
  key modulo n; an empty key gets a random partition (None).
* ``fnv1a``: Sarama's default ``NewHashPartitioner``: 32-bit FNV-1a of the key, reinterpreted
  as int32, Go's truncating ``%``, and a negative remainder negated; that is ``abs(h) % n`` for
  the signed hash ``h`` (see IBM/sarama ``partitioner.go``). An empty non-nil key is hashed.
* ``murmur3``: 32-bit MurmurHash3 (x86), seed 0, taken unsigned, modulo n. No mainstream client
  uses it by default; it shows a "custom" hash. Empty keys are hashed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from enum import StrEnum

import mmh3

from ridectl.errors import UsageError

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


_M32 = 0xFFFFFFFF
_MURMUR2_SEED = 0x9747B28C
_MURMUR2_MUL = 0x5BD1E995


def murmur2_hash(key: bytes) -> int:
    """The Java client's murmur2 of ``key`` (``Utils.murmur2``) as a signed 32-bit int.

    Four bytes at a time, little-endian, are mixed into the running hash; the one to three
    bytes left over are folded in at the end, then the hash is scrambled twice more."""
    n = len(key)
    h = (_MURMUR2_SEED ^ n) & _M32
    whole = n - n % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * _MURMUR2_MUL) & _M32
        k ^= k >> 24
        k = (k * _MURMUR2_MUL) & _M32
        h = ((h * _MURMUR2_MUL) & _M32) ^ k
    tail = n % 4
    if tail:
        if tail == 3:
            h ^= key[whole + 2] << 16
        if tail >= 2:
            h ^= key[whole + 1] << 8
        h ^= key[whole]
        h = (h * _MURMUR2_MUL) & _M32
    h ^= h >> 13
    h = (h * _MURMUR2_MUL) & _M32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def fnv1a_32(key: bytes) -> int:
    """32-bit FNV-1a of ``key``, unsigned."""
    h = _FNV_OFFSET
    for byte in key:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def _murmur2(key: bytes, partitions: int) -> int | None:
    return (murmur2_hash(key) & 0x7FFFFFFF) % partitions


def _crc32(key: bytes, partitions: int) -> int | None:
    if not key:
        return None
    return zlib.crc32(key) % partitions


def _fnv1a(key: bytes, partitions: int) -> int | None:
    h = fnv1a_32(key)
    signed = h - (1 << 32) if h & 0x80000000 else h
    # Go: int32(h) % n truncates toward zero, then a negative result is negated.
    return abs(signed) % partitions


def _murmur3(key: bytes, partitions: int) -> int | None:
    return int(mmh3.hash(key, 0, signed=False)) % partitions


class PartitionerName(StrEnum):
    """The clients' key hashes ridectl can imitate."""

    murmur2 = "murmur2"
    crc32 = "crc32"
    fnv1a = "fnv1a"
    murmur3 = "murmur3"


class KeylessStrategy(StrEnum):
    """Where a client puts a record that has no key."""

    RANDOM_PER_RECORD = "random_per_record"
    STICKY_BATCH = "sticky_batch"
    STICKY_TIME = "sticky_time"

    def describe(self) -> str:
        return _KEYLESS_TEXT[self]


_KEYLESS_TEXT = {
    KeylessStrategy.RANDOM_PER_RECORD: "a random partition for each record",
    KeylessStrategy.STICKY_BATCH: "one partition until a batch fills, then another (sticky)",
    KeylessStrategy.STICKY_TIME: "one random partition for a short while, then another "
    "(sticky.partitioning.linger.ms)",
}

#: name -> ``f(key, partitions)``; None means "random partition" for that key.
PARTITIONERS: dict[PartitionerName, Callable[[bytes, int], int | None]] = {
    PartitionerName.murmur2: _murmur2,
    PartitionerName.crc32: _crc32,
    PartitionerName.fnv1a: _fnv1a,
    PartitionerName.murmur3: _murmur3,
}


def _names() -> str:
    return ", ".join(PARTITIONERS)


def lookup(name: str) -> Callable[[bytes, int], int | None]:
    try:
        return PARTITIONERS[PartitionerName(name)]
    except ValueError:
        raise UsageError(f"unknown partitioner {name!r}; valid: {_names()}") from None


def partition_for(name: str, key: bytes, partitions: int) -> int | None:
    """The partition the named client's default partitioner picks for ``key`` among
    ``partitions``; None when that client picks at random for this key."""
    fn = lookup(name)
    if partitions <= 0:
        raise UsageError(f"partition count must be at least 1, got {partitions}")
    return fn(key, partitions)
