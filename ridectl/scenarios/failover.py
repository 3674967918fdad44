"""A real broker failure under load: ``kill -9`` of a partition leader on a 3-node local cluster.

The scenario creates a topic replicated on all three nodes, starts producing a run in a
background thread, kills the node that leads most of the topic's partitions while records are
still in flight, lets the producer finish (its retries go to the newly elected leaders),
restarts the node, waits until every replica is back in sync, then reads the topic back and
judges it with the producer's acknowledgements. An acknowledged event that the consumer never
sees is reported as ``lost``; a retried batch that had in fact been written shows up as a
duplicate; a retry that overtook a later batch shows up as out of order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ridectl.broker.local import LocalCluster
from ridectl.clients.admin import admin_client, delete, ensure_topic, kafka_errors
from ridectl.clients.idempotence import check_idempotence
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError, require_positive
from ridectl.judge.checker import Report
from ridectl.judge.kinds import ViolationKind
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.run import flow
from ridectl.run.consume import ConsumeOptions
from ridectl.run.options import ProduceOptions, ProduceResult

#: How long the cluster may take to have every replica back in sync after the restart.
HEAL_TIMEOUT_S = 120.0
#: How long a new topic may take to have a leader for every partition.
LEADER_TIMEOUT_S = 30.0


@dataclass
class FailoverOptions:
    cluster: LocalCluster
    settings: ClientSettings
    rides: int = 10_000
    acks: str = "all"
    idempotence: bool = True
    max_in_flight: int = 5
    partitions: int = 3
    topic: str | None = None
    #: the leader is killed once this share of the run's events has been handed to the client
    kill_at: float = 0.3
    seed: int | None = None
    keep_topic: bool = False
    #: talk to the cluster at the address its state records (else: settings.bootstrap, e.g.
    #: another spelling of the same nodes given with -b)
    use_cluster_address: bool = True
    #: called with a short line at each step (killed node, restart, in sync, ...)
    step: Callable[[str], None] | None = None
    #: the client library that produces (the run is read back with kafka-python)
    client: ClientName = DEFAULT_CLIENT


@dataclass
class FailoverResult:
    topic: str
    acks: str
    idempotence: bool
    max_in_flight: int
    produced: ProduceResult
    report: Report
    killed_node: int
    led_partitions: list[int]
    #: events handed to the producer when the node was killed
    sent_at_kill: int
    #: seconds from the restart of the killed node until every replica was in sync
    heal_s: float
    consumed: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.produced.rides * LIFECYCLE_LENGTH

    def figures(self) -> dict[str, object]:
        kinds = self.report.by_kind
        return {
            "topic": self.topic,
            "client": self.produced.client.value,
            "acks": self.acks,
            "idempotence": self.idempotence,
            "max_in_flight": self.max_in_flight,
            "rides": self.produced.rides,
            "events": self.events,
            "sent": self.produced.sent,
            "acked": self.produced.acked,
            "failed": self.produced.failed,
            "errors": dict(self.produced.errors),
            "batch_retries": self.produced.batch_retries,
            "consumed": self.consumed,
            "lost": kinds[ViolationKind.LOST],
            "duplicated": kinds[ViolationKind.DUPLICATE],
            "out_of_order": kinds[ViolationKind.OUT_OF_ORDER],
            "missing": kinds[ViolationKind.MISSING],
            "killed_node": self.killed_node,
            "led_partitions": self.led_partitions,
            "sent_at_kill": self.sent_at_kill,
            "heal_s": round(self.heal_s, 2),
        }

    def figures_line(self) -> str:
        f = self.figures()
        return (
            f"failover ({f['client']}, acks={f['acks']}, "
            f"idempotence={'on' if f['idempotence'] else 'off'}, "
            f"in-flight={f['max_in_flight']}): node {f['killed_node']} killed after "
            f"{f['sent_at_kill']} sends; rides {f['rides']}, events {f['events']}, "
            f"acked {f['acked']}, failed {f['failed']}, consumed {f['consumed']}, "
            f"lost {f['lost']}, duplicated {f['duplicated']}, out of order {f['out_of_order']}; "
            f"replicas back in sync {f['heal_s']:g}s after the restart"
        )


def require_three_nodes(cluster: LocalCluster) -> str:
    """The bootstrap address of the running 3-node cluster, or a UsageError saying what to do."""
    state = cluster.running()
    if state is None:
        raise UsageError(
            f"no local cluster is running from {cluster.state_dir}",
            hint="start one with: ridectl broker up --nodes 3",
        )
    if state.nodes != 3:
        raise UsageError(
            f"failover needs a 3-node cluster, but the one at {state.bootstrap} has "
            f"{state.nodes} node(s)",
            hint="ridectl broker down, then ridectl broker up --nodes 3",
        )
    dead = [n for n, pid in state.pids.items() if not cluster.alive(pid)]
    if dead:
        raise UsageError(
            f"node(s) {', '.join(dead)} of the cluster at {state.bootstrap} are not running",
            hint="ridectl broker up --nodes 3 restarts them",
        )
    return state.bootstrap


def leaders(settings: ClientSettings, topic: str) -> dict[int, int]:
    """Partition -> leader node id (-1 while a partition has none)."""
    with admin_client(settings) as admin, kafka_errors(settings, f"describing {topic}"):
        desc = admin.describe_topics([topic])
    out: dict[int, int] = {}
    for d in desc:
        for p in d.get("partitions") or []:
            out[int(p["partition_index"])] = int(p.get("leader_id", -1))
    return out


def out_of_sync(settings: ClientSettings, topic: str) -> list[int]:
    """Partitions of ``topic`` whose in-sync replicas are fewer than their replicas (or that
    have no leader); an error while asking counts as not in sync yet."""
    try:
        with admin_client(settings) as admin, kafka_errors(settings, f"describing {topic}"):
            desc = admin.describe_topics([topic])
    except RidectlError:
        return [-1]
    lagging: list[int] = []
    for d in desc:
        parts = d.get("partitions") or []
        if not parts:
            return [-1]
        for p in parts:
            replicas = set(p.get("replica_nodes") or ())
            isr = set(p.get("isr_nodes") or ())
            if int(p.get("leader_id", -1)) < 0 or not replicas or replicas - isr:
                lagging.append(int(p["partition_index"]))
    return lagging


def wait_in_sync(settings: ClientSettings, topic: str, timeout_s: float = HEAL_TIMEOUT_S) -> float:
    """Wait until every partition of ``topic`` has all its replicas in sync; returns the wait."""
    t0 = time.monotonic()
    while True:
        lagging = out_of_sync(settings, topic)
        if not lagging:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout_s:
            raise RidectlError(
                f"replicas of {topic} were not back in sync within {timeout_s:g}s "
                f"(partitions {', '.join(map(str, lagging))})",
                hint="see ridectl broker logs",
            )
        time.sleep(0.25)


def _failover_settings(opts: FailoverOptions) -> ClientSettings:
    """The user's settings with the run's own: its acks, idempotence and in-flight, failed
    sends retried until delivered (the run measures what retries do), and new leaders learnt
    quickly after the kill."""
    settings = dataclasses.replace(
        opts.settings, values=dict(opts.settings.values), origin=dict(opts.settings.origin)
    )
    settings.set(SettingName.ACKS, opts.acks, origin="options")
    settings.set(SettingName.ENABLE_IDEMPOTENCE, str(opts.idempotence).lower(), origin="options")
    settings.set(SettingName.MAX_IN_FLIGHT, str(opts.max_in_flight), origin="options")
    for key, default in (
        (SettingName.DELIVERY_TIMEOUT_MS, "120000"),
        (SettingName.METADATA_MAX_AGE_MS, "1000"),
    ):
        if settings.get(key) is None:
            settings.set(key, default, origin="failover")
    return settings


def run_failover(opts: FailoverOptions) -> FailoverResult:
    """Produce, kill the busiest leader mid-run, heal, then read back and judge."""
    require_positive("--rides", opts.rides)
    require_positive("--max-in-flight", opts.max_in_flight)
    if opts.acks not in ("all", "1"):
        raise UsageError(f"--acks must be all or 1 for a failover run, not {opts.acks}")
    settings = _failover_settings(opts)
    check_idempotence(settings)
    bootstrap = require_three_nodes(opts.cluster)
    say = opts.step or (lambda _line: None)
    if opts.use_cluster_address:
        settings = dataclasses.replace(settings, bootstrap=bootstrap)
    topic = opts.topic or f"failover-{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    victim, led = _busiest_leader(settings, topic, opts.partitions)
    kill = _Kill(opts, victim, led, say)
    produced = kill.during(
        ProduceOptions(
            topic=topic,
            rides=opts.rides,
            settings=settings,
            seed=opts.seed,
            client=opts.client,
            # The kill is timed by the records handed to the client, which a client holding
            # the run ahead of its clock would tell only at the end of its sends.
            stage_budget_bytes=0,
        )
    )
    timings["kill"] = kill.at_s - t0
    timings["produced"] = kill.done_s - t0
    heal_s = wait_in_sync(settings, topic)
    timings["in_sync"] = time.monotonic() - t0
    say(f"all replicas of {topic} back in sync {heal_s:.1f}s after the restart")
    trial = flow.judge_produced("failover", produced, ConsumeOptions(topic, settings))
    timings["judged"] = time.monotonic() - t0
    if not opts.keep_topic:
        with contextlib.suppress(RidectlError):  # a leftover topic is harmless
            delete(settings, topic)
    return FailoverResult(
        topic=topic,
        acks=opts.acks,
        idempotence=opts.idempotence,
        max_in_flight=opts.max_in_flight,
        produced=produced,
        report=trial.report,
        killed_node=victim,
        led_partitions=led,
        sent_at_kill=kill.sent_at_kill,
        heal_s=heal_s,
        consumed=trial.consumed,
        timings=timings,
    )


def _busiest_leader(settings: ClientSettings, topic: str, partitions: int) -> tuple[int, list[int]]:
    """Create the run's topic (3 replicas, 2 in sync required); the node leading most of its
    partitions, and those partitions."""
    info = ensure_topic(settings, topic, partitions, 3, {"min.insync.replicas": "2"})
    if info.replication != 3:
        raise UsageError(
            f"topic {topic} has replication factor {info.replication}, the failover needs 3",
            hint="use another --topic",
        )
    # A new topic's leaders are elected a moment after it is created (longer while a node
    # that was just restarted catches up): wait until every partition has one.
    deadline = time.monotonic() + LEADER_TIMEOUT_S
    by_partition = leaders(settings, topic)
    while (not by_partition or min(by_partition.values()) < 0) and time.monotonic() < deadline:
        time.sleep(0.25)
        by_partition = leaders(settings, topic)
    if not by_partition or min(by_partition.values()) < 0:
        raise RidectlError(
            f"topic {topic} had partitions without a leader {LEADER_TIMEOUT_S:g}s after "
            "it was created",
            hint="see ridectl broker logs",
        )
    victim = Counter(by_partition.values()).most_common(1)[0][0]
    return victim, sorted(p for p, n in by_partition.items() if n == victim)


class _Kill:
    """Kills ``victim`` once the run has sent its ``kill_at`` share, restarts it after."""

    def __init__(
        self, opts: FailoverOptions, victim: int, led: list[int], say: Callable[[str], None]
    ) -> None:
        total = opts.rides * LIFECYCLE_LENGTH
        self.kill_at = max(1, min(total - 1, round(total * opts.kill_at)))
        self.cluster = opts.cluster
        self.victim, self.led, self.say = victim, led, say
        self.reached = threading.Event()
        self.sent_now = 0
        self.sent_at_kill = 0
        self.at_s = 0.0
        self.done_s = 0.0
        self.result: ProduceResult | None = None
        self.error: BaseException | None = None

    def _progress(self, sent: int, _acked: int) -> None:
        self.sent_now = sent
        if sent >= self.kill_at:
            self.reached.set()

    def _produce(self, opts: ProduceOptions) -> None:
        try:
            self.result = flow.produce(opts)
        except BaseException as exc:  # handed to the main thread, re-raised there
            self.error = exc
        finally:
            self.reached.set()

    def during(self, opts: ProduceOptions) -> ProduceResult:
        """Produce in the background, kill the node when the share is reached, wait for the
        run to end, restart the node; the run's result."""
        opts.progress = self._progress
        worker = threading.Thread(
            target=self._produce, args=(opts,), name="ridectl-failover-producer"
        )
        worker.start()
        killed = False
        try:
            self.reached.wait()
            if self.error is None and self.result is None:
                self.say(
                    f"killing node {self.victim} (leader of partitions {self.led}) "
                    f"after {self.sent_now} sends"
                )
                self.cluster.kill_node(self.victim, hard=True)
                killed = True
            self.sent_at_kill = self.sent_now
            self.at_s = time.monotonic()
        finally:
            worker.join()
            self.done_s = time.monotonic()
            if killed:
                self.say(f"restarting node {self.victim}")
                self.cluster.start_node(self.victim)
        if self.error is not None:
            raise self.error
        assert self.result is not None
        if not killed:
            raise RidectlError(
                f"the run ended before {self.kill_at} events were sent, so no node was killed",
                hint="use more --rides",
            )
        return self.result
