"""The lessons told through the Java client, librdkafka and kafka-python, on the real broker.
Each test runs one lesson and checks its promise again from the figures behind it: the
acknowledgements, the checker's causes, the settings read back from the client, and what the
fault proxy saw on the wire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ridectl.clients.partitioners import partition_for
from ridectl.judge.kinds import DuplicateKind, OrderCause, ViolationKind
from ridectl.run.flow import Trial
from ridectl.scenarios.client_lessons import (
    IDEMPOTENCE_FIVE,
    LIBRDKAFKA_DEFAULTS,
    MIXED_CLIENTS,
    UNKEYED,
)
from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.lesson import LessonOutcome

pytestmark = pytest.mark.kafka

OOO = ViolationKind.OUT_OF_ORDER
#: The broker's answer to a batch that arrives after a gap in the producer's sequence.
OUT_OF_ORDER_SEQUENCE = "broker:45"


@pytest.fixture(scope="module")
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes.pick(fast=True)) as context:
        yield context


def _by_label(outcome: LessonOutcome) -> dict[str, Trial]:
    return {t.label: t for t in outcome.trials}


def _all_delivered(outcome: LessonOutcome) -> None:
    for t in outcome.trials:
        assert t.run.acked == t.run.sent > 0, t.label
        assert t.report.by_kind[ViolationKind.LOST] == 0, t.label


def _in_flight(t: Trial) -> int:
    assert t.run.fault_stats is not None
    return t.run.fault_stats.max_in_flight


def test_unkeyed_each_client_scatters_rides_its_own_way(ctx: DemoContext) -> None:
    outcome = UNKEYED.run(ctx)
    assert outcome.promised, outcome.verdict
    _all_delivered(outcome)
    trials = _by_label(outcome)
    assert set(trials) == {"kafka-python, no key", "java, no key", "librdkafka, no key"}
    rdkafka = trials["librdkafka, no key"]
    # librdkafka's burst is shown, not promised: an event out of order is so for the keying
    # cause (another partition) or, rarely, for the log cause (records it held unplaced went
    # behind later ones on one partition), never for processing; the verdict names the latter.
    causes = rdkafka.report.by_cause
    assert causes[OrderCause.KEYING] + causes[OrderCause.LOG] == rdkafka.report.by_kind[OOO]
    for v in rdkafka.report.violations:
        if v.kind is OOO:
            same_partition = v.evidence[0][0] == v.evidence[1][0]
            assert same_partition == (v.cause is OrderCause.LOG), v
    assert (causes[OrderCause.LOG] > 0) == ("librdkafka's, in the log" in outcome.verdict)
    if rdkafka.report.rides_split == 0:
        assert causes[OrderCause.KEYING] == 0
    for label in ("kafka-python, no key", "java, no key"):
        t = trials[label]
        # Every ride touched more than one partition somewhere, and every out-of-order event
        # sits on another partition than the event that overtook it.
        split = {
            ride for ride in {a.ride_id for a in t.run.acks}
            if len({a.partition for a in t.run.acks if a.ride_id == ride}) > 1
        }  # fmt: skip
        assert len(split) == t.report.rides_split > 0, label
        out_of_order = [v for v in t.report.violations if v.kind is OOO]
        assert out_of_order, label
        assert all(v.evidence[0][0] != v.evidence[1][0] for v in out_of_order), label
        assert all(v.cause is OrderCause.KEYING for v in out_of_order), label
    # kafka-python's random choice per record reaches every partition of the topic.
    assert len(trials["kafka-python, no key"].run.per_partition) == 6


def test_idempotence_five_keeps_order_with_several_requests_in_flight(
    ctx: DemoContext,
) -> None:
    outcome = IDEMPOTENCE_FIVE.run(ctx)
    assert outcome.promised, outcome.verdict
    _all_delivered(outcome)
    trials = _by_label(outcome)
    java, rdkafka = (
        trials["java idempotent"],
        trials["librdkafka idempotent"],
    )
    python = trials["kafka-python idempotent"]
    for t in outcome.trials:
        assert t.report.clean, t.label
        assert t.run.fault_stats is not None and t.run.fault_stats.faults_injected_total > 0
        assert t.run.topic.partitions == 1
    for t in (java, rdkafka):
        # Several requests of the one partition at the broker at once, and the broker refusing
        # the ones that came after a gap: sequence numbers, not a single request, kept order.
        assert _in_flight(t) > 1, t.label
        assert t.run.fault_stats is not None
        assert t.run.fault_stats.answer_codes.get(OUT_OF_ORDER_SEQUENCE, 0) > 0, t.label
        assert t.run.effective["enable.idempotence"] == "true", t.label
    assert _in_flight(python) == 1
    assert python.run.fault_stats is not None
    assert python.run.fault_stats.answer_codes.get(OUT_OF_ORDER_SEQUENCE, 0) == 0
    for label in ("java 1 in flight", "kafka-python 1 in flight"):
        assert _in_flight(trials[label]) == 1, label


def test_librdkafka_defaults_reorder_and_duplicate_until_idempotence(ctx: DemoContext) -> None:
    outcome = LIBRDKAFKA_DEFAULTS.run(ctx)
    assert outcome.promised, outcome.verdict
    _all_delivered(outcome)
    trials = _by_label(outcome)
    burst, plain = trials["out of the box, one burst"], trials["out of the box, one by one"]
    one, idem = trials["1 in flight, one by one"], trials["idempotent, one by one"]
    lost, lost_idem = trials["out of the box, lost acks"], trials["idempotent, lost acks"]
    # Out of the box, as librdkafka itself reports its settings.
    for t in (burst, plain, lost):
        assert t.run.effective["enable.idempotence"] == "false", t.label
        assert t.run.effective["max.in.flight.requests.per.connection"] == "1000000", t.label
    assert idem.run.effective["max.in.flight.requests.per.connection"] == "5"
    # The burst is packed into batches (how many depends on how fast the records arrived within
    # librdkafka's 5 ms linger, so only "fewer requests than events" is certain).
    assert burst.run.fault_stats is not None
    assert burst.run.fault_stats.produce_requests < burst.run.acked
    # One by one, retries reorder inside single partitions. With one request in flight they
    # may too (when librdkafka had the next request built before the failure came back), so
    # that run is held to "at most": whatever is out of order there is so in the log.
    for t in (plain, one):
        assert t.report.rides_split == 0, t.label
        pairs = [v for v in t.report.violations if v.kind is OOO]
        assert pairs or t is one, t.label
        assert all(v.evidence[0][0] == v.evidence[1][0] for v in pairs), t.label
        assert all(v.evidence[0][1] < v.evidence[1][1] for v in pairs), t.label
    print(f"\nlibrdkafka, 1 in flight: {one.report.by_kind[OOO]} events out of order", flush=True)
    assert _in_flight(plain) > 5 and _in_flight(one) == 1
    assert idem.report.clean and lost_idem.report.clean
    # A lost acknowledgement makes librdkafka write the records again: copies at new offsets.
    dups = [v for v in lost.report.violations if v.kind is ViolationKind.DUPLICATE]
    assert dups and all(v.duplicate_kind is DuplicateKind.PRODUCER for v in dups)
    assert lost.run.fault_stats is not None and lost_idem.run.fault_stats is not None
    assert lost.run.fault_stats.faults_injected_total > 0
    assert lost_idem.run.fault_stats.faults_injected_total > 0


def test_mixed_clients_place_one_ride_with_two_hash_functions(ctx: DemoContext) -> None:
    outcome = MIXED_CLIENTS.run(ctx)
    assert outcome.promised, outcome.verdict
    _all_delivered(outcome)
    (t,) = outcome.trials
    partitions = t.run.topic.partitions
    # Payments went where librdkafka's CRC32 puts the key, every other event where the Java
    # client's murmur2 does.
    for ack in t.run.acks:
        hashed = "crc32" if ack.seq == 5 else "murmur2"
        assert ack.partition == partition_for(hashed, ack.ride_id.encode(), partitions), ack
    apart = {
        ride for ride in {a.ride_id for a in t.run.acks}
        if partition_for("crc32", ride.encode(), partitions)
        != partition_for("murmur2", ride.encode(), partitions)
    }  # fmt: skip
    assert len(apart) == t.report.rides_split > 0
    assert t.report.by_cause[OrderCause.KEYING] > 0
