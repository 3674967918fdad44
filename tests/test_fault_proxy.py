"""The fault proxy: protocol handling against fake brokers, and every fault kind against the
real broker with kafka-python's producer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.admin.cluster import DescribeClusterRequest
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceResponse
from proxy_helpers import (
    FakeCluster,
    RawClient,
    produce_request,
    response_id,
    supported_versions,
)

from ridectl.errors import BrokerError, UsageError
from ridectl.faults import FaultProxy, ProxyStats, parse_fault_spec, serve_forever
from ridectl.faults.stats import AnswerSource

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def bootstrap(request: pytest.FixtureRequest) -> str:
    """The real broker: the session fixture when conftest has it, else the environment."""
    try:
        return str(request.getfixturevalue("kafka_bootstrap"))
    except pytest.FixtureLookupError:
        env = os.environ.get("RIDECTL_TEST_BOOTSTRAP")
        if not env:
            pytest.skip("no kafka_bootstrap fixture and RIDECTL_TEST_BOOTSTRAP unset")
        return env


def make_topic(bootstrap: str, partitions: int = 1) -> str:
    topic = f"faults-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()
    wait_for_leaders(bootstrap, topic)
    return topic


def wait_for_leaders(bootstrap: str, topic: str) -> None:
    """Until the broker names a leader for every partition: an acks=0 Produce request that
    arrives earlier makes the broker close the connection (its way of reporting the error)."""
    client = RawClient(bootstrap)
    try:
        deadline = time.monotonic() + 30
        request = MetadataRequest.MetadataRequestTopic(name=topic)
        while time.monotonic() < deadline:
            (described,) = client.call(MetadataRequest(version=12, topics=[request])).topics
            if described.error_code == 0 and all(
                p.error_code == 0 and p.leader_id >= 0 for p in described.partitions
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"no leader for {topic} after 30 s")
    finally:
        client.close()


def read_values(bootstrap: str, topic: str) -> list[int]:
    """Partition 0 of ``topic`` from the start to its current end, read from the broker."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        values: list[int] = []
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(int(r.value) for r in records)
        return values
    finally:
        consumer.close()


# The hazard: several requests in flight to one partition, retries on, idempotence off, one
# record per batch (batch_size=1 still fits one record: the first record of a batch is always
# accepted) and no lingering, so each produce request carries exactly one record. A short
# retry backoff keeps the tests fast; it does not change the outcome, because the batches that
# overtake a failed one are already in flight when its error arrives.
HAZARD: dict[str, Any] = {
    "enable_idempotence": False,
    "acks": 1,
    "retries": 1_000_000,
    "max_in_flight_requests_per_connection": 5,
    "batch_size": 1,
    "linger_ms": 0,
    "retry_backoff_ms": 10,
}


@dataclass
class Run:
    values: list[int]
    stats: ProxyStats
    elapsed_s: float
    failed: int


def run(bootstrap: str, faults: list[str], count: int, **overrides: Any) -> Run:
    """Send ``count`` records with key b"k" through a proxy with ``faults``; read them back."""
    topic = make_topic(bootstrap)
    config = {**HAZARD, **overrides}
    with FaultProxy(bootstrap, [parse_fault_spec(f) for f in faults]) as proxy:
        producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, **config)
        try:
            # Idempotence really is what we asked for: kafka-python may switch it off quietly.
            assert producer.config["enable_idempotence"] is config["enable_idempotence"]
            t0 = time.monotonic()
            futures = [producer.send(topic, key=b"k", value=str(i).encode()) for i in range(count)]
            producer.flush(timeout=60)
            elapsed = time.monotonic() - t0
            failed = sum(1 for f in futures if f.failed())
        finally:
            producer.close(timeout=5)
    stats = proxy.stats()  # final: every connection is closed now
    assert_balanced(stats)
    return Run(read_values(bootstrap, topic), stats, elapsed, failed)


def assert_balanced(stats: ProxyStats) -> None:
    """Every request the proxy read was answered, owed nothing, or closed with its connection."""
    ledger = stats.ledger
    assert stats.connections_open == 0
    assert ledger.received == sum(stats.requests_by_api.values())
    assert ledger.outstanding == 0, ledger
    assert ledger.unbalanced_connections == 0, ledger


def in_order(values: list[int]) -> bool:
    return values == sorted(values)


@pytest.fixture
def fake_cluster() -> Iterator[FakeCluster]:
    cluster = FakeCluster()
    try:
        yield cluster
    finally:
        cluster.close()


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


# --------------------------------------------------------------------------- fake-broker tests


@pytest.mark.parametrize("version", [0, 1, 4, 8, 9, 12, 13])
def test_metadata_of_a_three_node_cluster_points_at_one_listener_per_broker(
    fake_cluster: FakeCluster, version: int
) -> None:
    with FaultProxy(fake_cluster.bootstrap, isolation="thread") as proxy:
        client = RawClient(proxy.bootstrap)
        try:
            response = client.call(MetadataRequest(version=version, topics=[]))
        finally:
            client.close()
        brokers = {b.node_id: (b.host, b.port) for b in response.brokers}
        assert set(brokers) == {1, 2, 3}
        assert all(host == "127.0.0.1" for host, _ in brokers.values())
        # Node 1 is the bootstrap broker: its listener is the bootstrap one.
        assert brokers[1][1] == _port(proxy.bootstrap)
        assert len({port for _, port in brokers.values()}) == 3
        assert not {fake_cluster.port(n) for n in (1, 2, 3)} & {p for _, p in brokers.values()}
        # Each listener leads to its own broker.
        for node, (host, port) in brokers.items():
            other = RawClient(f"{host}:{port}")
            try:
                assert other.call(MetadataRequest(version=version, topics=[])).controller_id in (
                    node,
                    -1,
                )  # v0 has no controller id
            finally:
                other.close()
        stats = proxy.stats()
        assert len(stats.listen) == 3
        assert stats.routes[proxy.bootstrap] == fake_cluster.bootstrap
        assert stats.rewritten_responses >= 4


def test_with_a_fixed_listen_port_other_brokers_get_the_next_ports(
    fake_cluster: FakeCluster,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        first = probe.getsockname()[1]
    with FaultProxy(fake_cluster.bootstrap, listen_port=first, isolation="thread") as proxy:
        assert proxy.bootstrap == f"127.0.0.1:{first}"
        client = RawClient(proxy.bootstrap)
        try:
            ports = sorted(b.port for b in client.call(MetadataRequest(version=12)).brokers)
        finally:
            client.close()
    assert ports[0] == first
    assert first < ports[1] < ports[2] <= first + 100


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6])
def test_find_coordinator_is_rewritten_in_every_version(
    fake_cluster: FakeCluster, version: int
) -> None:
    with FaultProxy(fake_cluster.bootstrap, isolation="thread") as proxy:
        client = RawClient(proxy.bootstrap)
        try:
            if version >= 4:
                request = FindCoordinatorRequest(
                    version=version, key_type=0, coordinator_keys=["g"]
                )
                coordinator = client.call(request).coordinators[0]
                node, host, port = coordinator.node_id, coordinator.host, coordinator.port
            else:
                response = client.call(FindCoordinatorRequest(version=version, key="g", key_type=0))
                node, host, port = response.node_id, response.host, response.port
            assert (host, port) != ("127.0.0.1", fake_cluster.port(node))
            assert port in {_port(a) for a in proxy.stats().listen}
            assert proxy.stats().routes[f"{host}:{port}"] == f"127.0.0.1:{fake_cluster.port(node)}"
        finally:
            client.close()


@pytest.mark.parametrize("version", [0, 1, 2])
def test_describe_cluster_is_rewritten(fake_cluster: FakeCluster, version: int) -> None:
    with FaultProxy(fake_cluster.bootstrap, isolation="thread") as proxy:
        client = RawClient(proxy.bootstrap)
        try:
            request = DescribeClusterRequest(
                version=version,
                include_cluster_authorized_operations=False,
                endpoint_type=1,
                include_fenced_brokers=False,
            )
            ports = {b.port for b in client.call(request).brokers}
        finally:
            client.close()
        assert ports <= {_port(a) for a in proxy.stats().listen}
        assert len(ports) == 3


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_api_versions_are_capped_at_what_the_codecs_decode(
    fake_cluster: FakeCluster, version: int
) -> None:
    with FaultProxy(fake_cluster.bootstrap, isolation="thread") as proxy:
        versions = {}
        client = RawClient(proxy.bootstrap)
        try:
            kwargs = (
                {"client_software_name": "t", "client_software_version": "1"}
                if version >= 3
                else {}
            )
            for entry in client.call(ApiVersionsRequest(version=version, **kwargs)).api_keys:
                versions[entry.api_key] = entry.max_version
        finally:
            client.close()
    assert versions[0] == ProduceResponse.max_version  # the broker said 99
    assert versions[3] == 13


def test_bad_addresses_and_unreachable_brokers_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="bad upstream address"):
        FaultProxy("nonsense")
    with pytest.raises(UsageError, match="bad listen port"):
        FaultProxy("127.0.0.1:9092", listen_port=70000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    for isolation in ("thread", "process"):
        with pytest.raises(BrokerError, match="no upstream broker answers"):
            FaultProxy(f"127.0.0.1:{dead}", isolation=isolation).start()


def test_listen_port_in_use_is_a_usage_error(fake_cluster: FakeCluster) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            FaultProxy(fake_cluster.bootstrap, listen_port=port, isolation="process").start()


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ridectl-fault-proxy"]


def test_malformed_frames_close_only_their_connection(fake_cluster: FakeCluster) -> None:
    with FaultProxy(fake_cluster.bootstrap, isolation="thread", max_frame_bytes=4096) as proxy:
        bad_inputs = [
            struct.pack(">i", 5000) + b"x" * 10,  # over the frame limit
            struct.pack(">i", -1),  # negative size
            struct.pack(">i", 3) + b"abc",  # shorter than a request header
            struct.pack(">i", 12) + b"\x00\x00" * 6,  # Produce v0 with nothing in it
        ]
        for data in bad_inputs:
            client = RawClient(proxy.bootstrap)
            client.sock.sendall(data)
            assert client.is_closed()
            client.close()
        # A client leaving in the middle of a frame.
        client = RawClient(proxy.bootstrap)
        client.sock.sendall(struct.pack(">i", 100) + b"\x00\x03")
        client.close()
        # The proxy still serves.
        good = RawClient(proxy.bootstrap)
        try:
            assert len(good.call(MetadataRequest(version=9, topics=[])).brokers) == 3
        finally:
            good.close()
        stats = proxy.stats()
        assert stats.connections_failed >= len(bad_inputs)
    assert proxy.stats().connections_open == 0
    assert proxy_threads() == []


def test_serve_forever_runs_until_stopped(fake_cluster: FakeCluster) -> None:
    ready: list[ProxyStats] = []
    result: list[ProxyStats] = []
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["stop"], holder["loop"] = stop, asyncio.get_running_loop()
        result.append(
            await serve_forever(
                fake_cluster.bootstrap,
                [parse_fault_spec("delay:ms=1")],
                on_ready=ready.append,
                stop=stop,
            )
        )

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    deadline = time.monotonic() + 10
    while not ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready, "serve_forever never became ready"
    assert "fault proxy listening on 127.0.0.1:" in ready[0].describe()
    assert "delay:ms=1" in ready[0].describe()
    client = RawClient(ready[0].bootstrap)
    try:
        client.call(MetadataRequest(version=12, topics=[]))
    finally:
        client.close()
    holder["loop"].call_soon_threadsafe(holder["stop"].set)
    thread.join(10)
    assert not thread.is_alive()
    assert result[0].requests_by_api["Metadata"] == 1


STANDALONE = """
import json, sys
from ridectl.faults import parse_fault_spec, run_standalone
stats = run_standalone(sys.argv[1], [parse_fault_spec("error:every=2")],
                       on_ready=lambda s: print(s.bootstrap, flush=True))
print(json.dumps(stats.to_dict()), flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_standalone_stops_on_a_signal_and_returns_stats(
    fake_cluster: FakeCluster, sig: signal.Signals
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STANDALONE, fake_cluster.bootstrap],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        client = RawClient(address)
        try:
            client.call(MetadataRequest(version=12, topics=[]))
        finally:
            client.close()
        proc.send_signal(sig)
        final = json.loads(proc.stdout.readline())
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert final["bootstrap"] == address
    assert final["requests_by_api"] == {"Metadata": 1}
    assert final["faults"] == ["error:every=2,code=REQUEST_TIMED_OUT"]


# --------------------------------------------------------------------------- real broker

kafka = pytest.mark.kafka


@kafka
def test_pass_through_keeps_order_and_counts_produce_requests(bootstrap: str) -> None:
    result = run(bootstrap, [], 200)
    assert result.failed == 0
    assert result.values == list(range(200))
    # One record per batch, one batch per request: one produce request per record.
    assert result.stats.produce_requests == 200
    assert result.stats.requests_by_api["Produce"] == 200
    assert result.stats.faults_injected == {}
    assert result.stats.connections_total >= 1


@kafka
def test_clients_only_ever_learn_proxy_addresses(bootstrap: str) -> None:
    topic = make_topic(bootstrap)
    with FaultProxy(bootstrap) as proxy:
        producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, **HAZARD)
        try:
            producer.send(topic, key=b"k", value=b"1").get(timeout=10)
            # KafkaProducer has no public accessor for its cluster view.
            brokers = producer._metadata.brokers()
        finally:
            producer.close(timeout=5)
        assert brokers, "the producer learned no brokers"
        listening = set(proxy.stats().listen)
        assert {f"{b.host}:{b.port}" for b in brokers} <= listening
        assert bootstrap not in {f"{b.host}:{b.port}" for b in brokers}
        admin = KafkaAdminClient(bootstrap_servers=proxy.bootstrap)
        try:
            described = admin.describe_cluster()
        finally:
            admin.close()
        assert {f"{b['host']}:{b['port']}" for b in described["brokers"]} <= listening
        assert proxy.stats().rewritten_responses >= 2


@kafka
def test_address_responses_are_rewritten_in_every_version_the_broker_speaks(
    bootstrap: str,
) -> None:
    with FaultProxy(bootstrap, isolation="thread") as proxy:
        listening = {_port(a) for a in proxy.stats().listen}
        supported = supported_versions(proxy.bootstrap)
        client = RawClient(proxy.bootstrap)
        try:
            low, high = supported[3]
            for version in range(low, min(high, MetadataResponse.max_version) + 1):
                response = client.call(MetadataRequest(version=version, topics=[]))
                assert {b.port for b in response.brokers} <= listening, version
            low, high = supported[10]
            for version in range(low, min(high, FindCoordinatorResponse.max_version) + 1):
                if version >= 4:
                    request = FindCoordinatorRequest(
                        version=version, key_type=0, coordinator_keys=["ridectl-test"]
                    )
                    ports = {c.port for c in client.call(request).coordinators if c.error_code == 0}
                else:
                    response = client.call(
                        FindCoordinatorRequest(version=version, key="ridectl-test", key_type=0)
                    )
                    ports = {response.port} if response.error_code == 0 else set()
                assert ports <= listening, version
        finally:
            client.close()


@kafka
def test_error_every_3rd_request_reorders_one_partition(bootstrap: str) -> None:
    result = run(bootstrap, ["error:every=3"], 200)
    assert result.failed == 0
    assert sorted(result.values) == list(range(200)), "lost or duplicated records"
    assert not in_order(result.values), "expected later records to overtake failed ones"
    assert result.stats.faults_injected["error"] >= 200 // 3
    assert result.stats.max_in_flight > 1
    # Per Produce answer, who answered and with which code: the proxy's 7 on every hit
    # request, the broker's 0 (and an offset) on the others.
    answers = {a.request: a for a in result.stats.produce_answers}
    assert set(answers) == set(range(1, result.stats.produce_requests + 1))
    for number, answer in answers.items():
        (part,) = answer.partitions
        if number in result.stats.hit_requests:
            assert (answer.source, part.error_code, part.broker_code) == ("fault", 7, None)
        else:
            assert (answer.source, part.error_code, part.broker_code) == ("broker", 0, 0)
    assert result.stats.ledger.fault_answered == len(result.stats.hit_requests)


@kafka
def test_one_request_in_flight_keeps_order_despite_errors(bootstrap: str) -> None:
    result = run(bootstrap, ["error:every=3"], 200, max_in_flight_requests_per_connection=1)
    assert result.failed == 0
    assert result.values == list(range(200))
    assert result.stats.faults_injected["error"] >= 200 // 3
    assert result.stats.max_in_flight == 1


@kafka
def test_idempotence_keeps_order_despite_errors(bootstrap: str) -> None:
    result = run(bootstrap, ["error:every=3"], 200, enable_idempotence=True, acks="all")
    assert result.failed == 0
    assert result.values == list(range(200))
    assert result.stats.faults_injected["error"] >= 200 // 3
    # kafka-python's idempotent producer keeps one batch per partition in flight.
    assert result.stats.max_in_flight == 1


@kafka
def test_lost_acks_make_duplicates_without_idempotence(bootstrap: str) -> None:
    result = run(bootstrap, ["lost-ack:first=2"], 50)
    assert result.failed == 0
    assert set(result.values) == set(range(50))
    assert len(result.values) == 52  # both lost acks were written twice
    assert result.values.count(0) == 2 and result.values.count(1) == 2
    assert result.stats.hit_requests == (1, 2)
    # The broker wrote both (code 0, an offset); the client got REQUEST_TIMED_OUT instead.
    replaced = [a for a in result.stats.produce_answers if a.source is AnswerSource.REPLACED]
    assert [a.request for a in replaced] == [1, 2]
    for answer in replaced:
        (part,) = answer.partitions
        assert (part.partition, part.broker_code, part.error_code) == (0, 0, 7)
        assert part.base_offset is not None and part.base_offset >= 0
    assert result.stats.ledger.ack_replaced == 2
    assert result.stats.answer_codes["replaced:7"] == 2


@kafka
def test_lost_acks_are_harmless_with_idempotence(bootstrap: str) -> None:
    result = run(bootstrap, ["lost-ack:every=5"], 50, enable_idempotence=True, acks="all")
    assert result.failed == 0
    assert result.values == list(range(50))
    assert result.stats.faults_injected["lost-ack"] >= 10


@kafka
def test_delay_keeps_order(bootstrap: str) -> None:
    result = run(bootstrap, ["delay:ms=200"], 30)
    assert result.failed == 0
    assert result.values == list(range(30))
    assert result.stats.faults_injected["delay"] == result.stats.produce_requests == 30
    # Five in flight, each answer held 200 ms: at least six rounds of 200 ms.
    assert result.elapsed_s >= 1.0


@kafka
def test_disconnects_are_survived(bootstrap: str) -> None:
    result = run(bootstrap, ["disconnect:every=40"], 200)
    assert result.failed == 0
    # Requests in flight on a dropped connection may have been written and are sent again,
    # and a retried batch can land after later ones: only completeness is certain.
    assert set(result.values) == set(range(200))
    assert result.stats.faults_injected["disconnect"] >= 200 // 40
    assert result.stats.connections_total > result.stats.faults_injected["disconnect"]
    # Each disconnect closes at least the request that triggered it.
    assert result.stats.ledger.closed >= result.stats.faults_injected["disconnect"]


@kafka
def test_rate_with_a_seed_hits_the_same_requests_every_run(bootstrap: str) -> None:
    spec = parse_fault_spec("error:rate=0.2,seed=7")
    runs = [
        run(bootstrap, [str(spec)], 60, max_in_flight_requests_per_connection=1) for _ in range(2)
    ]
    first, second = (r.stats for r in runs)
    assert first.hit_requests == second.hit_requests
    assert first.produce_requests == second.produce_requests
    expected = [n for n in range(1, first.produce_requests + 1) if spec.selects(n)]
    assert list(first.hit_requests) == expected
    assert first.hits_by_fault == {str(spec): first.hit_requests}
    assert all(r.values == list(range(60)) for r in runs)


@kafka
def test_responses_keep_request_order_when_the_proxy_answers_early(bootstrap: str) -> None:
    topic = make_topic(bootstrap)
    faults = [parse_fault_spec("delay:ms=300,first=1"), parse_fault_spec("error:first=2")]
    with FaultProxy(bootstrap, faults, isolation="thread") as proxy:
        client = RawClient(proxy.bootstrap)
        try:
            client.call(MetadataRequest(version=12, topics=None))
            t0 = time.monotonic()
            slow = client.send(produce_request(topic, b"1"))  # delayed 300 ms
            fast = client.send(produce_request(topic, b"2"))  # answered by the proxy at once
            meta = client.send(MetadataRequest(version=12, topics=[]))
            order = [response_id(client.receive()) for _ in range(3)]
            elapsed = time.monotonic() - t0
        finally:
            client.close()
        assert order == [slow, fast, meta]
        assert elapsed >= 0.3
        assert proxy.stats().hit_requests == (1, 2)


@kafka
def test_acks_0_requests_are_never_answered(bootstrap: str) -> None:
    topic = make_topic(bootstrap)
    with FaultProxy(bootstrap, [parse_fault_spec("error:first=1")], isolation="thread") as proxy:
        client = RawClient(proxy.bootstrap)
        try:
            client.send(produce_request(topic, b"1", acks=0))  # swallowed by the error fault
            client.send(produce_request(topic, b"2", acks=0))  # forwarded, never answered
            meta = client.send(MetadataRequest(version=12, topics=[]))
            assert response_id(client.receive()) == meta
        finally:
            client.close()
        stats = proxy.stats()
        assert stats.produce_requests == 2
        assert stats.faults_injected == {"error": 1}
    time.sleep(0.2)
    assert read_values(bootstrap, topic) == [2]


@kafka
@pytest.mark.parametrize("kind", ["error", "lost-ack"])
def test_produce_error_responses_decode_in_every_version(bootstrap: str, kind: str) -> None:
    topic = make_topic(bootstrap)
    spec = parse_fault_spec(f"{kind}:code=NOT_ENOUGH_REPLICAS")
    with FaultProxy(bootstrap, [spec], isolation="thread") as proxy:
        low, high = supported_versions(proxy.bootstrap)[0]
        # Kafka 4 still lists Produce v0-2 but refuses them; only the proxy's own answers
        # (error) can be had for those.
        low = low if kind == "error" else max(low, 3)
        versions = range(low, min(high, ProduceResponse.max_version) + 1)
        client = RawClient(proxy.bootstrap)
        try:
            topic_request = MetadataRequest.MetadataRequestTopic(name=topic)
            described = client.call(MetadataRequest(version=12, topics=[topic_request]))
            topic_id = described.topics[0].topic_id
            for version in versions:
                request = produce_request(topic, b"1", version=version, topic_id=topic_id)
                response = client.call(request)
                (topic_response,) = response.responses
                if version >= 13:
                    assert topic_response.topic_id == topic_id
                else:
                    assert topic_response.name == topic
                (partition,) = topic_response.partition_responses
                assert (partition.index, partition.error_code, partition.base_offset) == (0, 19, -1)
        finally:
            client.close()
    written = read_values(bootstrap, topic)
    assert written == ([] if kind == "error" else [1] * len(versions))


@kafka
def test_close_with_clients_still_connected_does_not_hang(bootstrap: str) -> None:
    for isolation in ("thread", "process"):
        proxy = FaultProxy(bootstrap, isolation=isolation).start()
        client = RawClient(proxy.bootstrap)
        client.call(MetadataRequest(version=12, topics=[]))
        producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, **HAZARD)
        t0 = time.monotonic()
        proxy.close()
        assert time.monotonic() - t0 < 5
        assert client.is_closed()
        client.close()
        producer.close(timeout=1)
        assert proxy.stats().connections_total >= 2
        assert proxy_threads() == []
