"""The options of a produce run and its result: the types every part of a run shares, at the
bottom of the run package (the send loop, the outcomes and the laid-out records all read
them; none of them imports the run's set-up in :mod:`ridectl.run.produce`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ridectl.clients.admin import TopicInfo
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import ProxyStats
from ridectl.judge.history import Ack
from ridectl.run.placement import Placement

#: What a run may hold in the client's memory before its clock starts, counted as each held
#: record's key and value bytes plus :data:`ridectl.run.send_loop.STAGED_RECORD_COST`. The Java
#: client's JVM runs with -Xmx512m and its producer buffers up to 32 MiB (buffer.memory's
#: default); 64 MiB held leaves it most of its heap. A longer run holds its first records and
#: streams the rest.
STAGE_BUDGET_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class FailedEvent:
    """One event whose delivery ended in an error (after the client's own retries)."""

    ride_id: str
    seq: int
    #: the client's error name, as in ``Delivery.error``
    error: str


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
    client: ClientName = DEFAULT_CLIENT
    #: send at most this many events per second (None: as fast as the client takes them),
    #: like a service whose rides happen over time
    pace_events_per_s: float | None = None
    #: how much of a run built ahead may be held by the client before the clock starts (see
    #: :data:`STAGE_BUDGET_BYTES`; 0: none, every record streams)
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
    client: ClientName = DEFAULT_CLIENT
    #: what decided each record's partition (client, key, hash), for ``ridectl explain``
    placement: Placement | None = None
    #: why a run asked to be remembered could not be saved (it still happened)
    not_remembered: str | None = None

    @property
    def unacknowledged(self) -> int:
        """Sent, but neither acknowledged nor failed when the run ended (e.g. Ctrl-C)."""
        return max(0, self.sent - self.acked - self.failed)

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_pct(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)

    def to_dict(self) -> dict[str, object]:
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
    the settings in force (Java names, see :func:`ridectl.clients.settings.in_force`)."""
    return (
        f"{'keyed' if keyed else 'unkeyed'}"
        f";inflight={effective.get(SettingName.MAX_IN_FLIGHT)}"
        f";idempotence={'on' if effective.get(SettingName.ENABLE_IDEMPOTENCE) == 'true' else 'off'}"
        f";acks={effective.get(SettingName.ACKS)};retries={effective.get(SettingName.RETRIES)}"
    )
