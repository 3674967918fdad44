"""Producing a run: interleaved ride lifecycles sent asynchronously with the settings asked for.

The producer only *records* what happened (acknowledgements with partition and offset,
failures, latencies); whether order held is decided later by the checker on what a consumer
reads back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka import errors as kerrors

from ridectl.clients.admin import TopicInfo, client_kwargs, ensure_topic, kafka_errors
from ridectl.errors import RidectlError, UsageError
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import ProxyStats
from ridectl.judge.history import Ack
from ridectl.judge.lifecycle import EventEncoder, interleaved_schedule
from ridectl.settings import ClientSettings

#: Settings whose effective value the summary reports (Java name -> kafka-python name).
REPORTED = {
    "acks": "acks",
    "enable.idempotence": "enable_idempotence",
    "max.in.flight.requests.per.connection": "max_in_flight_requests_per_connection",
    "retries": "retries",
    "linger.ms": "linger_ms",
    "batch.size": "batch_size",
    "delivery.timeout.ms": "delivery_timeout_ms",
    "retry.backoff.ms": "retry_backoff_ms",
    "compression.type": "compression_type",
}


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
    #: kafka-python's "retrying" warnings counted (one per retried batch)
    batch_retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    per_partition: Counter[int] = field(default_factory=Counter)
    acks: list[Ack] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    bytes_sent: int = 0
    effective: dict[str, str] = field(default_factory=dict)
    #: settings kafka-python changed by itself, with the reason
    changed_by_client: list[str] = field(default_factory=list)
    settings_id: str = ""
    interrupted: bool = False
    fault_stats: ProxyStats | None = None
    proxy_address: str | None = None
    #: set when the broker stopped answering mid-run (what was acknowledged is still here)
    aborted: str | None = None
    #: (partitions before, after) when the topic was grown mid-run
    grown: tuple[int, int] | None = None

    @property
    def unacknowledged(self) -> int:
        """Sent, but neither acknowledged nor failed when the run ended (e.g. Ctrl-C)."""
        return max(0, self.sent - self.acked - self.failed)

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_pct(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[idx]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
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
                "p50": _round(self.latency_pct(50)),
                "p99": _round(self.latency_pct(99)),
            },
            "settings": self.effective,
            "settings_id": self.settings_id,
            "changed_by_client": self.changed_by_client,
            "interrupted": self.interrupted,
            "aborted": self.aborted,
            "grown": list(self.grown) if self.grown else None,
            "faults": None if self.fault_stats is None else self.fault_stats.to_dict(),
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


class _RetryCounter(logging.Handler):
    """Counts kafka-python's per-batch retry warnings (its metrics only keep a rate).

    Attached to the sender's logger for the duration of one run; it also keeps those
    warnings off the user's terminal, since the summary reports them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        if "retrying" in msg:
            self.retries += 1


@contextlib.contextmanager
def _count_retries() -> Iterator[_RetryCounter]:
    logger = logging.getLogger("kafka.producer.sender")
    handler = _RetryCounter()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def settings_id(keyed: bool, cfg: dict[str, Any]) -> str:
    """A short label of the settings that decide order, carried in every event."""
    acks = "all" if cfg.get("acks") in (-1, "all") else str(cfg.get("acks"))
    return (
        f"{'keyed' if keyed else 'unkeyed'}"
        f";inflight={cfg.get('max_in_flight_requests_per_connection')}"
        f";idempotence={'on' if cfg.get('enable_idempotence') else 'off'}"
        f";acks={acks};retries={cfg.get('retries')}"
    )


def _effective(cfg: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for java, py in REPORTED.items():
        v = cfg.get(py)
        if py == "acks" and v == -1:
            v = "all"
        if py == "compression_type" and v is None:
            v = "none"
        if isinstance(v, bool):
            v = str(v).lower()
        out[java] = str(v)
    return out


def _client_changes(requested: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    """What kafka-python decided differently from what was asked or from its defaults."""
    notes: list[str] = []
    if "enable_idempotence" not in requested and not cfg.get("enable_idempotence"):
        why = [
            f"{k}={requested[k]!r}"
            for k in ("acks", "retries", "max_in_flight_requests_per_connection")
            if k in requested
        ]
        notes.append(
            "kafka-python turned idempotence OFF by itself (its default is on) because of "
            + (", ".join(why) if why else "a conflicting setting")
            + "; set enable.idempotence explicitly to choose"
        )
    if (
        "acks" not in requested
        and cfg.get("enable_idempotence")
        and cfg.get("acks") in (-1, "all")
        and requested.get("enable_idempotence")
    ):
        notes.append("acks is all because idempotence requires it")
    return notes


def build_producer(
    settings: ClientSettings, bootstrap: str | None, partitioner: str | None
) -> tuple[KafkaProducer, dict[str, Any]]:
    kwargs = client_kwargs(settings, "producer")
    requested = dict(kwargs)
    if bootstrap is not None:
        kwargs["bootstrap_servers"] = bootstrap.split(",")
    if partitioner is not None:
        from ridectl.partitioners import kafka_partitioner

        kwargs["partitioner"] = kafka_partitioner(partitioner)
    with kafka_errors(settings, "starting the producer"):
        producer = KafkaProducer(**kwargs)
    return producer, requested


#: The command's own option for each Java setting, to name it in messages.
_OPTION_NAMES = {
    "enable.idempotence": "--idempotence",
    "acks": "--acks",
    "retries": "--retries",
    "max.in.flight.requests.per.connection": "--max-in-flight",
}


def _given_as(settings: ClientSettings, key: str) -> str:
    origin = settings.origin.get(key, "")
    if origin == "options":
        return f"{key}={settings.values[key]} (from {_OPTION_NAMES.get(key, 'an option')})"
    return f"{key}={settings.values[key]} (from {origin or 'the settings'})"


def check_idempotence_conflicts(settings: ClientSettings) -> None:
    """Refuse, before connecting, an explicit ``enable.idempotence=true`` together with a
    setting it cannot work with (kafka-python would raise a bare configuration error)."""
    raw = settings.get("enable.idempotence")
    if raw is None or raw.strip().lower() not in ("true", "1", "yes", "on"):
        return
    conflicts: list[str] = []
    acks = settings.get("acks")
    if acks is not None and acks.strip().lower() not in ("all", "-1"):
        conflicts.append(_given_as(settings, "acks"))
    retries = settings.get("retries")
    if retries is not None and retries.strip() == "0":
        conflicts.append(_given_as(settings, "retries"))
    inflight = settings.get("max.in.flight.requests.per.connection")
    if inflight is not None and inflight.strip().isdigit() and int(inflight) > 5:
        conflicts.append(_given_as(settings, "max.in.flight.requests.per.connection"))
    if conflicts:
        raise UsageError(
            f"{_given_as(settings, 'enable.idempotence')} conflicts with "
            + " and ".join(conflicts)
            + ": an idempotent producer needs acks=all, retries above 0 and at most 5 "
            "requests in flight",
            hint="change the conflicting setting, or turn idempotence off "
            "(--no-idempotence / -X enable.idempotence=false)",
        )


def run_produce(opts: ProduceOptions) -> ProduceResult:
    """Create the topic if needed, send the run, wait for every acknowledgement.

    A broker that stops answering mid-run does not lose the record of what was acknowledged:
    the result comes back with ``aborted`` set, for the caller to report and then fail."""
    if opts.rides <= 0:
        raise UsageError(f"--rides must be 1 or more, not {opts.rides}")
    if opts.concurrent <= 0:
        raise UsageError(f"--concurrent must be 1 or more, not {opts.concurrent}")
    if opts.key_by not in ("ride", "zone"):
        raise UsageError(f"--key-by must be ride or zone, not {opts.key_by}")
    if not 0.0 <= opts.hot_share <= 1.0:
        raise UsageError(f"--hot-share must be between 0 and 1, not {opts.hot_share}")
    if opts.zones < 1:
        raise UsageError(f"--zones must be 1 or more, not {opts.zones}")
    check_idempotence_conflicts(opts.settings)
    from ridectl.runs import new_run_id

    run_id = opts.run_id or new_run_id()
    topic = ensure_topic(opts.settings, opts.topic, opts.partitions, opts.replication)
    if opts.grow_to is not None and opts.grow_to <= topic.partitions:
        raise UsageError(
            f"--grow-to must be more than the topic's {topic.partitions} partitions, "
            f"not {opts.grow_to}"
        )
    result = ProduceResult(run_id, topic, opts.keyed, opts.rides, opts.seed)
    settings = opts.settings
    if opts.grow_to is not None and settings.get("metadata.max.age.ms") is None:
        # A producer learns of new partitions when its metadata expires (5 minutes by
        # default); a 1 s age lets the second half of the run use them.
        settings = dataclasses.replace(
            settings, values={**settings.values, "metadata.max.age.ms": "1000"}
        )

    with contextlib.ExitStack() as stack:
        bootstrap: str | None = None
        proxy: Any = None
        if opts.faults:
            from ridectl.faults.proxy import FaultProxy

            proxy = stack.enter_context(FaultProxy(settings.bootstrap, list(opts.faults)))
            bootstrap = proxy.bootstrap
            result.proxy_address = bootstrap
        retry_counter = stack.enter_context(_count_retries())
        producer, requested = build_producer(settings, bootstrap, opts.partitioner)
        stack.callback(_close, producer, result)
        other = None
        if opts.second_partitioner is not None:
            # A second client (another service, another library) sends some of the events.
            other, _ = build_producer(settings, bootstrap, opts.second_partitioner)
            stack.callback(_close, other, result)
        cfg = producer.config
        result.effective = _effective(cfg)
        result.changed_by_client = _client_changes(requested, cfg)
        result.settings_id = settings_id(opts.keyed, cfg)
        try:
            _send_all(producer, other, opts, result, run_id)
        finally:
            result.batch_retries = retry_counter.retries
    if proxy is not None:
        # After the producers and the proxy closed: the final stats, with nothing in flight.
        result.fault_stats = proxy.stats()
    result.acked = len(result.acks)
    result.failed = sum(result.errors.values())
    result.per_partition.update(a.partition for a in result.acks)
    return result


def _close(producer: KafkaProducer, result: ProduceResult) -> None:
    """Give in-flight requests a bounded chance to finish; never hang on a dead broker."""
    try:
        producer.close(timeout=5 if (result.interrupted or result.aborted) else 30)
    except Exception:
        # kafka-python's close() raises at its flush when records are still pending, and
        # leaves the client half open (its __del__ would then print a traceback): stop the
        # sender thread here and mark the client closed.
        sender = getattr(producer, "_sender", None)
        with contextlib.suppress(Exception):
            if sender is not None:
                sender.force_close()
                sender.join(2)
        with contextlib.suppress(Exception):
            producer._closed = True


def _ride_keys(opts: ProduceOptions, ride_ids: list[str]) -> list[bytes] | None:
    """The key of each ride: its id, or its pickup zone (hot keys), or none."""
    if not opts.keyed:
        return None
    if opts.key_by == "ride":
        return [r.encode() for r in ride_ids]
    rng = random.Random(None if opts.seed is None else opts.seed + 1)
    keys: list[bytes] = []
    for _ in ride_ids:
        if opts.zones == 1 or rng.random() < opts.hot_share:
            keys.append(b"zone-airport")
        else:
            keys.append(f"zone-{rng.randrange(1, opts.zones):02d}".encode())
    return keys


def _send_all(
    producer: KafkaProducer,
    other: KafkaProducer | None,
    opts: ProduceOptions,
    result: ProduceResult,
    run_id: str,
) -> None:
    lock = threading.Lock()
    acks = result.acks
    latencies = result.latencies_ms
    errors = result.errors
    clock = time.perf_counter

    def on_ack(ride_id: str, seq: int, t_sent: float, meta: Any) -> None:
        # kafka-python appends the future's value after the bound arguments.
        latencies.append((clock() - t_sent) * 1000.0)
        acks.append(Ack(ride_id, seq, meta.partition, meta.offset))

    # Set when a batch expires unacknowledged (the broker stopped answering): sending more
    # would only queue records that expire in turn, so the loop stops and reports.
    broker_gone = threading.Event()
    watch_expiry = not opts.faults

    def on_error(exc: BaseException) -> None:
        with lock:
            errors[type(exc).__name__] += 1
        if watch_expiry and isinstance(
            exc, (kerrors.KafkaTimeoutError, kerrors.KafkaConnectionError)
        ):
            broker_gone.set()

    width = max(5, len(str(opts.rides - 1)))
    ride_ids = [f"ride-{i:0{width}d}" for i in range(opts.rides)]
    keys = _ride_keys(opts, ride_ids)
    topic = opts.topic
    encode = EventEncoder(run_id, result.settings_id, opts.padding).encode
    now = time.time
    progress = opts.progress
    second_seqs = opts.second_seqs if other is not None else frozenset()
    total = opts.rides * 5
    grow_at = round(total * opts.grow_at) if opts.grow_to is not None else -1
    sent = 0
    t0 = clock()
    try:
        for ride, seq in interleaved_schedule(
            opts.rides, seed=opts.seed, concurrent=opts.concurrent
        ):
            if sent == grow_at:
                _grow_mid_run(producer, other, opts, result)
            if broker_gone.is_set():
                break
            ride_id = ride_ids[ride]
            value = encode(ride_id, seq, now() * 1000.0)
            client = other if (other is not None and seq in second_seqs) else producer
            t_sent = clock()
            future = client.send(topic, value=value, key=keys[ride] if keys else None)
            future.add_callback(on_ack, ride_id, seq, t_sent)
            future.add_errback(on_error)
            sent += 1
            result.bytes_sent += len(value)
            if progress is not None and sent % 500 == 0:
                progress(sent, len(acks))
        result.sent = sent
        # Every record either completes or expires within delivery.timeout.ms of its send,
        # so a flush that takes longer than that (plus a margin) means the client is stuck
        # on a broker that went away; it then ends with a timeout instead of hanging.
        wait_s = float(producer.config.get("delivery_timeout_ms") or 120_000) / 1000.0 + 5.0
        where = f"Kafka at {opts.settings.bootstrap}"
        try:
            producer.flush(timeout=wait_s)
            if other is not None:
                other.flush(timeout=wait_s)
        except kerrors.KafkaTimeoutError:
            result.aborted = (
                f"producing to {topic}: {where} stopped acknowledging; records sent were "
                f"still unacknowledged {wait_s:g}s later (delivery.timeout.ms + 5s)"
            )
            return
        gone = errors.get("KafkaTimeoutError", 0) + errors.get("KafkaConnectionError", 0)
        if gone and not opts.faults:
            # Batches expired unacknowledged: the broker stopped answering during the run.
            result.aborted = (
                f"producing to {topic}: {where} stopped acknowledging; "
                f"{gone} event(s) timed out unacknowledged"
            )
    except KeyboardInterrupt:
        result.interrupted = True
        result.sent = sent
    except (kerrors.KafkaTimeoutError, RidectlError) as exc:
        # send() blocks when the buffer is full and the broker is gone.
        result.sent = sent
        reason = str(exc).removeprefix("KafkaTimeoutError: ")
        result.aborted = (
            f"producing to {topic}: Kafka at {opts.settings.bootstrap} stopped accepting "
            f"records after {sent} sends ({reason})"
        )
    finally:
        result.elapsed_s = clock() - t0
        if progress is not None:
            progress(result.sent, len(acks))


def _grow_mid_run(
    producer: KafkaProducer,
    other: KafkaProducer | None,
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
        while len(client.partitions_for(opts.topic) or ()) < opts.grow_to:
            if time.monotonic() > deadline:
                raise RidectlError(
                    "the producer did not see the new partitions within 30s",
                    hint="lower -X metadata.max.age.ms",
                )
            time.sleep(0.05)
