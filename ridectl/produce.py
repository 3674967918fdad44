"""Producing a run: interleaved ride lifecycles sent asynchronously with the settings asked for.

The producer only *records* what happened (acknowledgements with partition and offset,
failures, latencies); whether order held is decided later by the checker on what a consumer
reads back. Records go through the client seam (:mod:`ridectl.clients.base`), so any client
ridectl drives sends the same rides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ridectl.clients.admin import TopicInfo, ensure_topic
from ridectl.clients.base import (
    BlockProducer,
    ClientName,
    ClientProcess,
    ProducerClient,
    ProducerDiagnostics,
)
from ridectl.clients.factory import make_producer
from ridectl.errors import RidectlError, UsageError, is_interrupt, require_positive
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import ProxyStats
from ridectl.judge.history import Ack
from ridectl.placement import KeyBy, Placement, client_hash
from ridectl.produce_loop import STAGE_BUDGET_BYTES, SendLoop
from ridectl.produce_outcomes import FailedEvent, Outcomes
from ridectl.produce_records import lay_out
from ridectl.settings import ClientSettings, check_idempotence


@dataclass
class ProduceOptions:
    topic: str
    rides: int
    settings: ClientSettings
    keyed: bool = True
    partitions: int | None = None
    replication: int = 1
    seed: int | None = None
    concurrent: int = 64
    #: extra bytes of padding per event (record size for benchmarks)
    padding: int = 0
    #: route keyed records like another client would ("murmur2" is kafka-python's default)
    partitioner: str | None = None
    #: fault specs (parsed); when given, the producer talks to the broker through the proxy
    faults: Sequence[FaultSpec] = ()
    run_id: str | None = None
    #: called with (sent, acked) now and then, from the sending thread
    progress: Callable[[int, int], None] | None = None
    #: key keyed records by "ride" id, or by pickup "zone" (hot keys: a share of rides start
    #: at the airport)
    key_by: str = "ride"
    zones: int = 12
    hot_share: float = 0.5
    #: add partitions when this share of the events has been sent (keys remap)
    grow_to: int | None = None
    grow_at: float = 0.5
    #: a second producer, placing keys with this partitioner, sends the events in second_seqs
    #: (e.g. the payment service runs another client library)
    second_partitioner: str | None = None
    second_seqs: frozenset[int] = frozenset({5})
    #: the client library of that second producer (default: ``client``); it places keys its
    #: own way unless ``second_partitioner`` says otherwise
    second_client: ClientName | None = None
    #: the client library that produces
    client: ClientName = ClientName.KAFKA_PYTHON
    #: send at most this many events per second (None: as fast as the client takes them),
    #: like a service whose rides happen over time
    pace_events_per_s: float | None = None
    #: how much of a run built ahead may be held by the client before the clock starts (see
    #: :data:`ridectl.produce_loop.STAGE_BUDGET_BYTES`; 0: none, every record streams)
    stage_budget_bytes: int = STAGE_BUDGET_BYTES


@dataclass
class ProduceResult:
    run_id: str
    topic: TopicInfo
    keyed: bool
    rides: int
    seed: int | None
    sent: int = 0
    acked: int = 0
    #: sends that ended in an error (after the client's own retries)
    failed: int = 0
    #: batches the client retried, when it can tell (kafka-python: its "retrying" warnings)
    batch_retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    per_partition: Counter[int] = field(default_factory=Counter)
    acks: list[Ack] = field(default_factory=list)
    #: every event whose delivery failed, with the client's error
    failures: list[FailedEvent] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: CPU seconds of this process (every thread) while the run was timed (``elapsed_s``)
    cpu_s: float = 0.0
    #: CPU seconds of the client's own process (the Java client's JVM) over the same span,
    #: when the client runs in one and the system tells (None otherwise)
    client_cpu_s: float | None = None
    bytes_sent: int = 0
    effective: dict[str, str] = field(default_factory=dict)
    #: settings the client changed by itself, with the reason
    changed_by_client: list[str] = field(default_factory=list)
    settings_id: str = ""
    interrupted: bool = False
    fault_stats: ProxyStats | None = None
    proxy_address: str | None = None
    #: set when the broker stopped answering mid-run (what was acknowledged is still here)
    aborted: str | None = None
    #: (partitions before, after) when the topic was grown mid-run
    grown: tuple[int, int] | None = None
    #: the client library that produced
    client: ClientName = ClientName.KAFKA_PYTHON
    #: what decided each record's partition (client, key, hash), for ``ridectl explain``
    placement: Placement | None = None

    @property
    def unacknowledged(self) -> int:
        """Sent, but neither acknowledged nor failed when the run ended (e.g. Ctrl-C)."""
        return max(0, self.sent - self.acked - self.failed)

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_pct(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "client": self.client.value,
            "topic": self.topic.name,
            "partitions": self.topic.partitions,
            "topic_created": self.topic.created,
            "keyed": self.keyed,
            "rides": self.rides,
            "seed": self.seed,
            "events_sent": self.sent,
            "events_acked": self.acked,
            "events_failed": self.failed,
            "events_unacknowledged": self.unacknowledged,
            "batch_retries": self.batch_retries,
            "errors": dict(self.errors),
            "per_partition": {str(p): n for p, n in sorted(self.per_partition.items())},
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.throughput, 1),
            "ack_latency_ms": {
                "p50": round_or_none(self.latency_pct(50)),
                "p99": round_or_none(self.latency_pct(99)),
            },
            "settings": self.effective,
            "settings_id": self.settings_id,
            "changed_by_client": self.changed_by_client,
            "interrupted": self.interrupted,
            "aborted": self.aborted,
            "grown": list(self.grown) if self.grown else None,
            "faults": None if self.fault_stats is None else self.fault_stats.to_dict(),
            "placement": None if self.placement is None else self.placement.to_dict(),
        }


def round_or_none(v: float | None, digits: int = 2) -> float | None:
    """``v`` to ``digits`` decimals (figures in summaries and JSON), None kept."""
    return None if v is None else round(v, digits)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0..100) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ride_ids(rides: int) -> list[str]:
    """The ride ids of a run of ``rides`` rides: ``ride-00000``, ... (sorted as text)."""
    width = max(5, len(str(rides - 1)))
    return [f"ride-{i:0{width}d}" for i in range(rides)]


def settings_id(keyed: bool, effective: Mapping[str, str]) -> str:
    """A short label of the settings that decide order, carried in every event; built from
    the settings in force (Java names, see :func:`ridectl.settings.in_force`)."""
    return (
        f"{'keyed' if keyed else 'unkeyed'}"
        f";inflight={effective.get('max.in.flight.requests.per.connection')}"
        f";idempotence={'on' if effective.get('enable.idempotence') == 'true' else 'off'}"
        f";acks={effective.get('acks')};retries={effective.get('retries')}"
    )


def _validate(opts: ProduceOptions) -> None:
    require_positive("--rides", opts.rides)
    require_positive("--concurrent", opts.concurrent)
    if opts.key_by not in ("ride", "zone"):
        raise UsageError(f"--key-by must be ride or zone, not {opts.key_by}")
    if not 0.0 <= opts.hot_share <= 1.0:
        raise UsageError(f"--hot-share must be between 0 and 1, not {opts.hot_share}")
    require_positive("--zones", opts.zones)
    if opts.pace_events_per_s is not None and opts.pace_events_per_s <= 0:
        raise UsageError(f"the send rate must be above 0, not {opts.pace_events_per_s}")
    check_idempotence(opts.settings)


def run_produce(opts: ProduceOptions) -> ProduceResult:
    """Create the topic if needed, send the run, wait for every acknowledgement.

    A broker that stops answering mid-run does not lose the record of what was acknowledged:
    the result comes back with ``aborted`` set, for the caller to report and then fail."""
    _validate(opts)
    from ridectl.runs import new_run_id

    run_id = opts.run_id or new_run_id()
    topic = ensure_topic(opts.settings, opts.topic, opts.partitions, opts.replication)
    if opts.grow_to is not None and opts.grow_to <= topic.partitions:
        raise UsageError(
            f"--grow-to must be more than the topic's {topic.partitions} partitions, "
            f"not {opts.grow_to}"
        )
    result = ProduceResult(run_id, topic, opts.keyed, opts.rides, opts.seed, client=opts.client)
    settings = opts.settings
    if opts.grow_to is not None and settings.get("metadata.max.age.ms") is None:
        # A producer learns of new partitions when its metadata expires (5 minutes by
        # default); a 1 s age lets the second half of the run use them.
        settings = dataclasses.replace(
            settings, values={**settings.values, "metadata.max.age.ms": "1000"}
        )
    outcomes = Outcomes(result, ride_ids(opts.rides), watch_expiry=not opts.faults)

    with contextlib.ExitStack() as stack:
        bootstrap: str | None = None
        proxy: Any = None
        if opts.faults:
            from ridectl.faults.proxy import FaultProxy

            proxy = stack.enter_context(FaultProxy(settings.bootstrap, list(opts.faults)))
            bootstrap = proxy.bootstrap
            result.proxy_address = bootstrap

        def start(partitioner: str | None, name: ClientName = opts.client) -> ProducerClient:
            client = make_producer(
                name,
                settings,
                opts.topic,
                outcomes,
                bootstrap=bootstrap,
                partitioner=partitioner,
            )
            stack.callback(_close, client, result)
            return client

        producer = start(opts.partitioner)
        # A second client (another service, another library) sends some of the events.
        other = None
        if opts.second_partitioner is not None or opts.second_client is not None:
            other = start(opts.second_partitioner, opts.second_client or opts.client)
        result.effective = dict(producer.settings_in_force())
        if isinstance(producer, ProducerDiagnostics):
            result.changed_by_client = producer.changed_by_client()
        result.settings_id = settings_id(opts.keyed, result.effective)
        try:
            _send_all(producer, other, opts, result, outcomes)
        finally:
            result.batch_retries = _retried_batches(producer, other)
    if proxy is not None:
        # After the producers and the proxy closed: the final stats, with nothing in flight.
        result.fault_stats = proxy.stats()
    # After the producers closed: no delivery can arrive any more.
    outcomes.settle()
    result.acked = len(result.acks)
    result.failed = sum(result.errors.values())
    # Every record with an outcome was sent: a run stopped inside a block of records (Ctrl-C,
    # a client gone) counts the records of that block that reached the client.
    result.sent = max(result.sent, result.acked + result.failed)
    result.per_partition.update(a.partition for a in result.acks)
    result.placement = _placement(opts, result)
    return result


def _placement(opts: ProduceOptions, result: ProduceResult) -> Placement:
    second = opts.second_partitioner is not None or opts.second_client is not None
    second_client = opts.second_client or opts.client
    return Placement(
        client=opts.client,
        keyed=opts.keyed,
        key_by=KeyBy(opts.key_by),
        hash=client_hash(opts.client, opts.partitioner, result.effective),
        partitions=result.topic.partitions,
        second_hash=client_hash(second_client, opts.second_partitioner, opts.settings.values)
        if second
        else None,
        second_seqs=opts.second_seqs if second else frozenset(),
        grown=result.grown,
    )


def _retried_batches(*clients: ProducerClient | None) -> int:
    """Batches the producers retried, as far as their libraries tell."""
    total = 0
    for client in clients:
        if client is not None and isinstance(client, ProducerDiagnostics):
            total += client.retried_batches()
    return total


def _close(producer: ProducerClient, result: ProduceResult) -> None:
    """Give in-flight requests a bounded chance to finish; never hang on a dead broker."""
    producer.close(5 if (result.interrupted or result.aborted) else 30)


def _send_all(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
    outcomes: Outcomes,
) -> None:
    records = lay_out(producer, other, opts, result, outcomes)
    clock = outcomes.clock

    def at_checkpoint(index: int) -> None:
        if index == loop.checkpoints.grow_at:
            _grow_mid_run(producer, other, opts, result)
        _report(opts, outcomes, index)

    loop = SendLoop(opts, outcomes, records, at_checkpoint)
    c0 = time.process_time()
    k0 = _client_cpu(producer)
    t0 = clock()
    try:
        staging = loop.staging_possible(producer, other is None)
        if not opts.faults:
            # Learn the topic's partitions before the clock starts (the first send would wait
            # for them); through the fault proxy the run is not timed, and a fault may hold
            # the answer. A producer that can hold records is handed them now too, so that
            # the clock covers their sends, not their way into the client.
            _learn_partitions(producer, opts.topic)
            if staging is not None:
                loop.stage(staging, opts.stage_budget_bytes)
            c0, k0 = time.process_time(), _client_cpu(producer)
            t0 = clock()
        if staging is not None and loop.held:
            loop.send_staged(staging)
            if loop.sent == loop.held:  # not stopped: the rest of a run over the budget
                loop.send_blocks(staging, loop.held)
        elif loop.blocks_possible(producer, other is None):
            loop.send_blocks(cast(BlockProducer, producer))
        else:
            loop.send_each(producer.send)
        result.sent = loop.sent
        _finish(producer, other, opts, result, outcomes)
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise
        result.interrupted = True
        result.sent = loop.sent
    except UsageError:
        raise  # the records or settings cannot work (a record too large): nothing to report
    except RidectlError as exc:
        # send() blocks when the buffer is full and the broker is gone.
        result.sent = max(loop.sent, outcomes.with_outcome())
        result.aborted = (
            f"producing to {opts.topic}: Kafka at {opts.settings.bootstrap} stopped accepting "
            f"records after {result.sent} sends ({exc})"
        )
    finally:
        # A run stopped early counts at least every record with an outcome (held records
        # the client was still sending when stopped are counted by their outcomes).
        result.sent = max(result.sent, outcomes.with_outcome())
        result.elapsed_s = clock() - t0
        result.cpu_s = time.process_time() - c0
        k1 = _client_cpu(producer)
        result.client_cpu_s = None if k0 is None or k1 is None else k1 - k0
        values = records.values
        result.bytes_sent = (
            loop.encoded_bytes if values is None else sum(map(len, values[: result.sent]))
        )
        _report(opts, outcomes, result.sent)


def _client_cpu(producer: ProducerClient) -> float | None:
    return producer.process_cpu_s() if isinstance(producer, ClientProcess) else None


def _learn_partitions(producer: ProducerClient, topic: str) -> None:
    """Ask the client for the topic's partitions; a client that gave up waiting (the broker
    is gone) ends the run as a send would, anything else is left to the first send."""
    try:
        producer.partitions_for(topic)
    except RidectlError:
        raise
    except Exception:  # the first send meets the same problem and reports it
        pass


def _report(opts: ProduceOptions, outcomes: Outcomes, sent: int) -> None:
    """Progress: ``sent`` as the loop knows it, raised to the records with an outcome (read
    after the acknowledged count, so never below it): a client holding records tells how
    many it sent only at the end."""
    if opts.progress is not None:
        acked = outcomes.acknowledged()
        opts.progress(max(sent, acked + len(outcomes.failed)), acked)


def _finish(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
    outcomes: Outcomes,
) -> None:
    """Wait for the outcome of every record sent; note a broker that stopped answering."""
    # Every record either completes or expires within delivery.timeout.ms of its send, so a
    # flush that takes longer than that (plus a margin) means the client is stuck on a broker
    # that went away; it then ends with a timeout instead of hanging.
    timeout_ms = result.effective.get("delivery.timeout.ms", "")
    wait_s = (int(timeout_ms) if timeout_ms.isdigit() else 120_000) / 1000.0 + 5.0
    where = f"Kafka at {opts.settings.bootstrap}"
    flushed = producer.flush(wait_s) and (other is None or other.flush(wait_s))
    if not flushed:
        result.aborted = (
            f"producing to {opts.topic}: {where} stopped acknowledging; records sent were "
            f"still unacknowledged {wait_s:g}s later (delivery.timeout.ms + 5s)"
        )
        return
    gone = outcomes.gone()
    if gone and not opts.faults:
        # Records expired unacknowledged: the broker stopped answering during the run.
        result.aborted = (
            f"producing to {opts.topic}: {where} stopped acknowledging; "
            f"{gone} event(s) timed out unacknowledged"
        )


def _grow_mid_run(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
) -> None:
    """Add partitions, then wait until the producers' metadata shows them, so the rest of
    the run is placed with the new count (as a long-running producer eventually would)."""
    from ridectl.clients.admin import grow

    assert opts.grow_to is not None
    grow(opts.settings, opts.topic, opts.grow_to)
    result.grown = (result.topic.partitions, opts.grow_to)
    deadline = time.monotonic() + 30
    for client in (producer, other):
        if client is None:
            continue
        while client.partitions_for(opts.topic) < opts.grow_to:
            if time.monotonic() > deadline:
                raise RidectlError(
                    "the producer did not see the new partitions within 30s",
                    hint="lower -X metadata.max.age.ms",
                )
            time.sleep(0.05)
