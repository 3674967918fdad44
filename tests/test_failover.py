"""A real failover: kill -9 of the busiest partition leader of a 3-node cluster mid-run.

The session's 3-node cluster (``three_nodes`` in conftest, never the one-node session broker)
is used; the killed node is started again before a run ends. Every run's topic is read back
here a second time, with a plain consumer of its own, so that what the checker calls lost is
checked against what the topic really holds. The figures of every run are printed, so
``pytest -s`` shows them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult
from kafka import KafkaConsumer, TopicPartition

from ridectl.broker.local import LocalCluster
from ridectl.clients.admin import delete
from ridectl.clients.base import ClientName
from ridectl.clients.settings import ClientSettings, build_settings
from ridectl.scenarios.failover import FailoverOptions, FailoverResult, run_failover

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]


def _run(cluster: LocalCluster, **kw: object) -> FailoverResult:
    state = cluster.running()
    assert state is not None
    settings = build_settings(state.bootstrap, None, [])
    opts = FailoverOptions(
        cluster=cluster, settings=settings, rides=10_000, seed=11, keep_topic=True
    )
    for k, v in kw.items():
        setattr(opts, k, v)
    result = run_failover(opts)
    print(
        "\n" + result.figures_line(),
        {k: round(v, 1) for k, v in result.timings.items()},
        flush=True,
    )
    return result


def events_on_topic(bootstrap: str, topic: str) -> Counter[tuple[str, int]]:
    """(ride_id, seq) of every ride event on ``topic``, with how often each is there: the
    whole topic read with a plain consumer, from the first offset to the end offset."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert parts, f"{topic} has no partitions"
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        seen: Counter[tuple[str, int]] = Counter()
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < end[tp] for tp in parts):
            assert time.monotonic() < deadline, "the topic was not read to its end in 120 s"
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    event = json.loads(record.value)
                    seen[(event["ride_id"], event["seq"])] += 1
        return seen
    finally:
        consumer.close()


def _accounting_is_exact(cluster: LocalCluster, r: FailoverResult) -> int:
    """The run's figures add up, and its ``lost`` is what the topic really lacks: every
    acknowledged event is on the topic or counted lost, never both, never neither. Deletes
    the run's topic; returns the events lost."""
    p = r.produced
    assert p.sent == r.events == 50_000
    assert p.acked + p.failed + p.unacknowledged == p.sent
    assert not p.interrupted and p.aborted is None
    assert set(r.led_partitions) and 0 < r.sent_at_kill < p.sent
    state = cluster.running()
    assert state is not None
    try:
        on_topic = events_on_topic(state.bootstrap, r.topic)
    finally:
        delete(ClientSettings(bootstrap=state.bootstrap), r.topic)
    acked = {(a.ride_id, a.seq) for a in p.acks}
    assert len(acked) == p.acked, "an event was acknowledged twice"
    delivered = len(acked & on_topic.keys())
    lost = len(acked - on_topic.keys())
    assert r.report.by_kind["lost"] == lost, (r.report.by_kind["lost"], lost)
    assert delivered + lost == p.acked
    assert r.consumed == sum(on_topic.values()) == r.report.events + r.report.foreign
    print(f"acknowledged {p.acked}, on the topic {delivered}, lost {lost}", flush=True)
    return lost


@pytest.fixture
def with_failover_command() -> None:
    """Attach ``failover`` to the CLI unless the root app already has it."""
    from ridectl.cli import _register, app
    from ridectl.cli import failover as failover_cli

    _register()
    names = {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}
    if "failover" not in names:
        failover_cli.register(app)


@pytest.mark.usefixtures("with_failover_command")
def test_failover_acks_all_idempotent_loses_nothing(
    three_nodes: LocalCluster, cli: Callable[..., CliResult]
) -> None:
    # Through the command, as a user would run it; its JSON carries the figures.
    r = cli(
        "failover", "--state-dir", str(three_nodes.state_dir), "--rides", "10000",
        "--acks", "all", "--idempotence", "--max-in-flight", "5", "--seed", "11", "-f", "json",
        "--keep-topic",
    )  # fmt: skip
    assert r.code == 0, r
    doc = json.loads(r.out)
    f = doc["figures"]
    print("\n" + json.dumps(f), flush=True)
    assert "killing node" in r.err and "back in sync" in r.err
    assert f["rides"] == 10_000 and f["events"] == f["sent"] == 50_000
    assert f["acked"] == 50_000 and f["failed"] == 0 and f["consumed"] == 50_000
    assert 0 < f["sent_at_kill"] < 50_000 and f["led_partitions"]
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["out_of_order"] == 0
    assert f["missing"] == 0
    assert doc["report"]["summary"]["by_kind"]["lost"] == 0
    # --keep-topic left the topic: it holds each of the 50,000 events, once.
    state = three_nodes.running()
    assert state is not None
    try:
        on_topic = events_on_topic(state.bootstrap, f["topic"])
    finally:
        delete(ClientSettings(bootstrap=state.bootstrap), f["topic"])
    assert len(on_topic) == 50_000 and set(on_topic.values()) == {1}


@pytest.mark.parametrize("client", [ClientName.LIBRDKAFKA, ClientName.JAVA])
def test_failover_acks_all_idempotent_loses_nothing_with_every_client(
    three_nodes: LocalCluster, client: ClientName
) -> None:
    """The kill is timed by the records handed to the client: a Java run is not held in the
    JVM ahead of its clock here (it would report its sends only at their end, after the whole
    run was acknowledged, and the leader would die with nothing in flight)."""
    r = _run(three_nodes, client=client, acks="all", idempotence=True, max_in_flight=5)
    assert r.produced.client is client
    assert r.produced.acked == 50_000 and r.produced.failed == 0
    assert _accounting_is_exact(three_nodes, r) == 0
    assert r.report.by_kind["missing"] == 0


#: acks=1 trials, each a fresh kill of the busiest leader. A leader answers acks=1 before its
#: followers have the records, so the ones it had not passed on when killed can be gone
#: (2,072 of 50,000 in one measurement with librdkafka). Whether a given kill catches any is
#: timing, so loss is measured and shown, never required: each trial must account for every
#: acknowledged event exactly, whatever it lost.
ACKS_1_TRIALS = 2


def test_failover_with_acks_1_counts_every_acknowledged_event_lost_or_delivered(
    three_nodes: LocalCluster,
) -> None:
    lost = []
    for _ in range(ACKS_1_TRIALS):
        r = _run(three_nodes, client=ClientName.LIBRDKAFKA, acks="1", idempotence=False)
        assert r.produced.acked == 50_000 and r.produced.failed == 0
        lost.append(_accounting_is_exact(three_nodes, r))
    print(f"acks=1, librdkafka: events lost per trial {lost}", flush=True)


def test_failover_without_idempotence_accounts_for_every_event(
    three_nodes: LocalCluster,
) -> None:
    # No assertion on violations: what a failover does to these settings varies run to run.
    # acks=all with 2 replicas in sync required: whatever was acknowledged is on a survivor.
    r = _run(three_nodes, acks="all", idempotence=False, max_in_flight=5)
    assert _accounting_is_exact(three_nodes, r) == 0


@pytest.mark.usefixtures("with_failover_command")
def test_failover_cli_needs_three_nodes(
    cli: Callable[..., CliResult], tmp_path: Path, kafka_cluster: LocalCluster | None
) -> None:
    r = cli("failover", "--state-dir", str(tmp_path / "none"), "--rides", "10")
    assert r.code == 2, r
    assert r.err.startswith("error: no local cluster is running"), r
    assert "ridectl broker up --nodes 3" in r.err
    assert len(r.err.strip().splitlines()) == 1
    if kafka_cluster is not None:  # the session broker has one node
        r = cli("failover", "--state-dir", str(kafka_cluster.state_dir))
        assert r.code == 2 and "3-node cluster" in r.err, r
    r = cli("failover", "--state-dir", str(tmp_path), "--acks", "1", "--rides", "5")
    assert r.code == 2 and "idempotence needs acks=all" in r.err, r
    r = cli("failover", "--state-dir", str(tmp_path), "--kill-at", "1.5")
    assert r.code == 2 and "--kill-at must be between 0 and 1" in r.err, r
