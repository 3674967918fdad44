"""Key -> partition functions: published test vectors, agreement with kafka-python's default
partitioner, Sarama's sign handling, ranges, and errors."""

from __future__ import annotations

import math
import zlib

import mmh3
import pytest
from kafka.partitioner import DefaultPartitioner, Partitioner

from ridectl.clients.key_partitioner import KeyPartitioner, kafka_partitioner
from ridectl.clients.partitioners import (
    PARTITIONERS,
    fnv1a_32,
    murmur2_hash,
    partition_for,
)
from ridectl.errors import UsageError

KEYS = [f"run-{i % 7}-r{i:06d}".encode() for i in range(2000)] + [
    b"",
    b"a",
    b"\x00",
    b"\xff\xfe\xfd",
    "ünïcødé".encode(),
]


class FakeCluster:
    """The slice of kafka-python's ClusterMetadata a partitioner reads."""

    def __init__(self, partitions: int, available: set[int] | None = None) -> None:
        self._all = set(range(partitions))
        self._available = self._all if available is None else available

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._all if topic == "t" else None

    def available_partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._available if topic == "t" else None


# Apache Kafka's UtilsTest.testMurmur2 expectations (signed 32-bit).
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_java_vectors(key: bytes, expected: int) -> None:
    assert murmur2_hash(key) == expected


def test_murmur2_partition_is_java_to_positive_modulo() -> None:
    # toPositive(-790332482) = 1357151166
    assert partition_for("murmur2", b"foobar", 50) == 1357151166 % 50 == 16
    assert partition_for("murmur2", b"foobar", 10) == 6
    assert partition_for("murmur2", b"", 7) == (275646681 & 0x7FFFFFFF) % 7


@pytest.mark.parametrize("partitions", [1, 2, 3, 6, 12, 100])
def test_murmur2_agrees_with_kafka_python_default(partitions: int) -> None:
    cluster = FakeCluster(partitions)
    default = DefaultPartitioner()
    for key in KEYS:
        expected = default.partition("t", key, key, b"v", b"v", cluster)
        assert partition_for("murmur2", key, partitions) == expected, key


def test_fnv1a_vectors() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def go_hash_partition(key: bytes, partitions: int) -> int:
    """Sarama's NewHashPartitioner arithmetic written out: int32(h) % n with Go's truncating
    remainder, then a negative result negated."""
    h = fnv1a_32(key)
    signed = h - 2**32 if h >= 2**31 else h
    rem = int(math.fmod(signed, partitions))
    return -rem if rem < 0 else rem


def test_fnv1a_follows_sarama_sign_handling() -> None:
    # Sarama's TestHashPartitionerMinInt32 key hashes to 0x80000000 (int32 minimum)
    assert fnv1a_32(b"1468509572224") == 0x80000000
    assert partition_for("fnv1a", b"1468509572224", 50) == 48
    # "a" hashes to 0xe40c292c, as int32 -468965076; Go's % truncates to -6, negated: 6
    assert partition_for("fnv1a", b"a", 7) == 6
    # Java-style masking (Sarama's "reference" variant) would give 1678518572 % 7 == 3
    assert (0xE40C292C & 0x7FFFFFFF) % 7 == 3
    for n in (1, 3, 7, 50, 1000):
        for key in KEYS:
            assert partition_for("fnv1a", key, n) == go_hash_partition(key, n), key


def test_crc32_is_librdkafka_consistent_random() -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert partition_for("crc32", b"123456789", 10) == 3421780262 % 10 == 2
    assert partition_for("crc32", b"", 10) is None  # empty key: random in librdkafka


def test_murmur3_vector() -> None:
    # MurmurHash3 x86_32 of "hello", seed 0, is 0x248bfa47
    assert mmh3.hash(b"hello", 0, signed=False) == 0x248BFA47
    assert partition_for("murmur3", b"hello", 10) == 0x248BFA47 % 10 == 1


def test_each_name_is_its_own_hash() -> None:
    key, n = b"run1-r000042", 12
    placed = {name: partition_for(name, key, n) for name in PARTITIONERS}
    assert placed == {
        "murmur2": DefaultPartitioner().partition("t", key, key, b"v", b"v", FakeCluster(n)),
        "crc32": zlib.crc32(key) % n,
        "fnv1a": go_hash_partition(key, n),
        "murmur3": mmh3.hash(key, 0, signed=False) % n,
    }
    # the point of the mixed-client lesson: the same key lands on different partitions
    assert len(set(placed.values())) > 1


@pytest.mark.parametrize("name", sorted(PARTITIONERS))
@pytest.mark.parametrize("partitions", [1, 2, 5, 64])
def test_outputs_in_range_and_stable(name: str, partitions: int) -> None:
    for key in KEYS:
        got = partition_for(name, key, partitions)
        if got is None:
            assert name == "crc32" and key == b""
            continue
        assert 0 <= got < partitions
        assert partition_for(name, key, partitions) == got
    if partitions == 1:
        assert {partition_for(name, k, 1) for k in KEYS if k} == {0}


def test_bad_inputs_raise_usage_error() -> None:
    with pytest.raises(UsageError) as unknown:
        partition_for("sticky", b"k", 3)
    assert "murmur2, crc32, fnv1a, murmur3" in str(unknown.value)
    assert "\n" not in str(unknown.value)
    for bad in (0, -1):
        with pytest.raises(UsageError, match="at least 1"):
            partition_for("murmur2", b"k", bad)
    with pytest.raises(UsageError, match="unknown partitioner"):
        kafka_partitioner("nope")


@pytest.mark.parametrize("name", sorted(PARTITIONERS))
def test_kafka_partitioner_routes_keyed_records(name: str) -> None:
    part = kafka_partitioner(name)
    assert isinstance(part, Partitioner)
    assert isinstance(part, KeyPartitioner)
    cluster = FakeCluster(6)
    for key in KEYS[:300]:
        if not key:
            continue
        assert part.partition("t", key, key, b"v", b"v", cluster) == partition_for(name, key, 6)


def test_kafka_partitioner_random_for_unkeyed_records() -> None:
    cluster = FakeCluster(6, available={2, 4})
    for name in PARTITIONERS:
        part = kafka_partitioner(name)
        picks = {part.partition("t", None, None, b"v", b"v", cluster) for _ in range(200)}
        assert picks == {2, 4}
    crc = kafka_partitioner("crc32")
    assert {crc.partition("t", b"", b"", b"v", b"v", cluster) for _ in range(200)} == {2, 4}


def test_kafka_partitioner_unknown_topic() -> None:
    with pytest.raises(ValueError, match="not found"):
        kafka_partitioner("murmur2").partition("other", b"k", b"k", b"v", b"v", FakeCluster(3))
